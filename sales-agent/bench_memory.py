"""Benchmark (not part of CI): memory per shopper stays flat however long the conversation runs.

    .venv/bin/python sales-agent/bench_memory.py [--turns 10 100 1000] [--context-tokens 8000]

Drives one shopper through N turns with a scripted model (a tool call and a long reply each turn) through
SalesSession, the real agent graph and a SQLite checkpointer, then prints the checkpoint bytes kept for
that shopper and the largest prompt (in approximate tokens: system prompt, tools and messages) of any model
call. Both stay flat once the history reaches the budget: under 5 MB at 1,000 turns, every call under
SALES_CONTEXT_TOKENS.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def run(turns: int, context_tokens: int, tmp: Path) -> tuple[int, int, float]:
    from sales_agent import memory
    from sales_agent.cards import CardTokens
    from sales_agent.testing import ScriptedChatModel, call, session_for_tests

    model = ScriptedChatModel(rules=[(r".", [[call("view_cart")], "Here is what I found: " + "a warm jacket, " * 40])])
    session = session_for_tests(
        tmp, model, vault=CardTokens(), settings_overrides={"context_tokens": context_tokens, "turns_per_minute": 0}
    )
    started = time.perf_counter()
    try:
        for i in range(turns):
            session.send("U1001", f"turn {i}: tell me more about warm waterproof jackets for Manali in December")
        return (
            memory.stored_bytes(session.checkpointer, "U1001"),
            max(session.graph.context_budget.calls),
            time.perf_counter() - started,
        )
    finally:
        session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--context-tokens", type=int, default=8000)
    args = parser.parse_args()
    print(f"{'turns':>6} {'checkpoint bytes':>17} {'largest prompt (tokens)':>24} {'budget':>7} {'seconds':>8}")
    for turns in args.turns:
        with tempfile.TemporaryDirectory() as tmp:
            stored, largest, seconds = run(turns, args.context_tokens, Path(tmp))
        print(f"{turns:>6} {stored:>17,} {largest:>24,} {args.context_tokens:>7,} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
