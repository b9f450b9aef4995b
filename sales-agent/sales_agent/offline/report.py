"""Per-intent accuracy of the offline model's intent recognition on the labelled phrasings.

    python -m sales_agent.offline.report            # dev and held-out sets (sales-agent/tests/nlu/*.tsv)
    python -m sales_agent.offline.report --errors   # and every phrasing it got wrong

Each phrasing is parsed against the same conversation memory: three jackets just listed (Alpine Puffer
Jacket, Manali Hooded Puffer, Bandra Bomber Jacket), a cart with an Essential Crew Tee and the Alpine
Puffer, and a last order, as if a shopper had been browsing for a while.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from .intents import Memory, parse

DATA = Path(__file__).resolve().parents[2] / "tests" / "nlu"
SETS = ("dev", "heldout")


def load(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / f"{name}.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, text = line.split("\t", 1)
        rows.append((intent.strip(), text.strip()))
    return rows


def memory() -> Memory:
    products = {
        "P1001": {"productId": "P1001", "name": "Alpine Puffer Jacket", "category": "jackets"},
        "P1006": {"productId": "P1006", "name": "Manali Hooded Puffer", "category": "jackets"},
        "P1011": {"productId": "P1011", "name": "Bandra Bomber Jacket", "category": "jackets"},
        "P1014": {"productId": "P1014", "name": "Essential Crew Tee", "category": "tops"},
    }
    cart = {
        "items": [
            {"productId": "P1014", "name": "Essential Crew Tee", "size": "M", "color": "White", "quantity": 2},
            {"productId": "P1001", "name": "Alpine Puffer Jacket", "size": "L", "color": "Black", "quantity": 1},
        ]
    }
    return Memory(
        products=products,
        last_list=["P1001", "P1006", "P1011"],
        last_product="P1001",
        cart=cart,
        last_order_id="ORD-100001",
    )


def predict(text: str) -> str:
    return parse(text, memory()).name


def evaluate(name: str) -> tuple[float, dict[str, tuple[int, int]], list[tuple[str, str, str]]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong = []
    rows = load(name)
    for intent, text in rows:
        got = predict(text)
        per[intent][1] += 1
        if got == intent:
            per[intent][0] += 1
        else:
            wrong.append((intent, got, text))
    right = sum(r for r, _ in per.values())
    return right / max(len(rows), 1), {k: (v[0], v[1]) for k, v in per.items()}, wrong


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    results = {name: evaluate(name) for name in SETS}
    intents = sorted({i for _, per, _ in results.values() for i in per})
    print(f"{'intent':<18}" + "".join(f"{name:>14}" for name in SETS))
    for intent in intents:
        cells = []
        for name in SETS:
            right, total = results[name][1].get(intent, (0, 0))
            cells.append(f"{right:>4}/{total:<4}" + (f"{right / total:>5.0%}" if total else "    -"))
        print(f"{intent:<18}" + "".join(f"{c:>14}" for c in cells))
    print(
        f"{'overall':<18}"
        + "".join(f"{sum(t for _, t in results[n][1].values()):>9} {results[n][0]:>4.0%}" for n in SETS)
    )
    if "--errors" in argv:
        for name in SETS:
            print(f"\n{name}: wrong")
            for intent, got, text in results[name][2]:
                print(f"  {intent:<16} -> {got:<16} {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
