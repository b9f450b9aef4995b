"""``python -m sales_agent orders process FILE.json``: place a file of orders without a model.

The file is a JSON list of orders::

    [{"userId": "U1001",
      "items": [{"productId": "P1001", "size": "M", "color": "Black", "quantity": 1}],
      "address": {"line1": "...", "city": "Mumbai", "postalCode": "400053"},      # optional: profile address
      "card": {"number": "4242424242424242", "expMonth": 12, "expYear": 2028, "cvc": "123"},
      "upiId": "name@bank", "fulfillment": "ship_to_home", "storeId": "ST-MUM-01", "coupon": "FLAT500"}]  # optional

Each order runs the same CheckoutWorkflow as the chat (hold, price, pay, create the order, commit,
earn points), confirmed automatically; any failure is undone and reported. Exit code 0 when the file
was processed (even if some orders failed), 2 when the file cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentkit.contracts import id_pattern
from agentkit.money import format_inr

from ..bootstrap import build_checkout
from ..checkout import CheckoutWorkflow
from ..settings import Settings

EXIT_OK, EXIT_UNREADABLE = 0, 2


class UnreadableFile(Exception):
    pass


def load_orders(path: str | Path) -> list[Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableFile(f"{path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("orders"), list):
        data = data["orders"]
    if not isinstance(data, list):
        raise UnreadableFile(f"{path} must hold a JSON list of orders")
    return data


def order_problem(order: Any) -> str | None:
    """Why an order cannot even be tried (checked before anything is held or charged)."""
    if not isinstance(order, dict):
        return "not a JSON object"
    if not id_pattern("userId").fullmatch(str(order.get("userId", ""))):
        return "userId must be a shopper id: 1 to 64 letters, digits or . _ : @ -"
    items = order.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list"
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            return f"item {n} is not an object"
        for key in ("productId", "size", "color"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                return f"item {n} needs {key}"
        quantity = item.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 20:
            return f"item {n}: quantity must be a whole number from 1 to 20"
    if "address" in order and not isinstance(order["address"], dict):
        return "address must be an object"
    card = order.get("card")
    if card is None and not order.get("upiId"):
        return "a card or a upiId is needed"
    if card is not None and (not isinstance(card, dict) or not str(card.get("number", "")).replace(" ", "").isdigit()):
        return "card must be an object with a number"
    return None


def _address(order: dict) -> dict | None:
    address = order.get("address")
    if not address:
        return None
    allowed = ("name", "line1", "line2", "city", "state", "postalCode", "country", "phone")
    return {k: str(v) for k, v in address.items() if k in allowed and v not in (None, "")}


def process_orders(orders: list[Any], workflow: CheckoutWorkflow) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for index, order in enumerate(orders, 1):
        problem = order_problem(order)
        if problem:
            results.append(
                {
                    "index": index,
                    "userId": (order or {}).get("userId") if isinstance(order, dict) else None,
                    "ok": False,
                    "reason": problem,
                    "items": [],
                }
            )
            continue
        items = [
            {
                "productId": i["productId"].strip().upper(),
                "size": i["size"],
                "color": i["color"],
                "quantity": i.get("quantity", 1),
            }
            for i in order["items"]
        ]
        outcome = workflow.run(
            order["userId"],
            items,
            address=_address(order),
            card=order.get("card"),
            upi_id=order.get("upiId"),
            fulfillment=order.get("fulfillment", "ship_to_home"),
            store_id=order.get("storeId"),
            coupon=order.get("coupon"),
        )
        row: dict[str, Any] = {"index": index, "userId": order["userId"], "items": items}
        if "error" in outcome:
            error = outcome["error"]
            reason = error.get("message", error.get("code", "failed"))
            if error.get("declineCode"):
                reason = f"declined ({error['declineCode']}): {reason}"
            row.update(
                ok=False,
                reason=reason,
                code=error.get("code"),
                charged=outcome.get("charged", False),
                refunded=outcome.get("refunded", False),
                undo=outcome.get("undo", []),
            )
        else:
            row.update(
                ok=True,
                orderId=outcome["orderId"],
                status=outcome["status"],
                total=outcome["total"],
                paymentId=outcome["paymentId"],
                pointsEarned=outcome.get("pointsEarned", 0),
            )
        results.append(row)
    return results


def render(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Orders", show_lines=False)
    for column in ("#", "shopper", "items", "result", "total"):
        table.add_column(column, justify="right" if column in ("#", "total") else "left")
    for row in results:
        items = ", ".join(f"{i['quantity']}x {i['productId']} {i['color']} {i['size']}" for i in row["items"]) or "-"
        if row["ok"]:
            result = f"[green]{row['orderId']}[/green] ({row['status']})"
            total = format_inr(row["total"])
        else:
            result = f"[red]failed[/red]: {row['reason']}"
            total = "-"
        table.add_row(str(row["index"]), str(row.get("userId") or "?"), items, result, total)
    console.print(table)
    placed = sum(1 for r in results if r["ok"])
    failed = len(results) - placed
    revenue = sum(r["total"] for r in results if r["ok"])
    console.print(
        f"{len(results)} orders: [green]{placed} placed[/green] ({format_inr(revenue)}), "
        f"[red]{failed} failed[/red]. Failed orders were undone: nothing held, nothing charged."
    )


def main(
    path: str,
    *,
    as_json: bool = False,
    settings: Settings | None = None,
    workflow: CheckoutWorkflow | None = None,
    console: Console | None = None,
) -> int:
    console = console or Console()
    try:
        orders = load_orders(path)
    except UnreadableFile as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return EXIT_UNREADABLE
    checkout = None
    if workflow is None:
        checkout = build_checkout(settings)
        workflow = checkout.workflow
    try:
        results = process_orders(orders, workflow)
    finally:
        if checkout is not None:
            checkout.close()
    if as_json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        render(results, console)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1]))
