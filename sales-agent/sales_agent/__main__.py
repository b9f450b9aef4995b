"""``python -m sales_agent chat | orders process FILE | checkouts recover | token USER_ID | serve``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["chat"]:
        return _chat(argv[1:])  # every option after "chat" belongs to the terminal
    parser = argparse.ArgumentParser(prog="python -m sales_agent", description="The retail sales agent.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("chat", help="chat in the terminal (python -m sales_agent chat --help)")
    orders = sub.add_parser("orders", help="batch orders")
    orders_sub = orders.add_subparsers(dest="action", required=True)
    process = orders_sub.add_parser("process", help="place every order in a JSON file")
    process.add_argument("file")
    process.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    checkouts = sub.add_parser("checkouts", help="checkout housekeeping")
    checkouts_sub = checkouts.add_subparsers(dest="action", required=True)
    recover = checkouts_sub.add_parser("recover", help="undo checkouts a crashed process left half-placed")
    recover.add_argument("--older-than", type=int, default=300, help="seconds (default 300)")
    token = sub.add_parser("token", help="print a shopper session token for an existing shopper (the operator's tool)")
    token.add_argument("user_id", metavar="USER_ID", help="the shopper's id (U1002, or a guest's id)")
    token.add_argument("--days", type=float, help="how long it lasts (default SALES_SESSION_DAYS)")
    serve = sub.add_parser("serve", help="run the HTTP chat API (development server; use gunicorn in production)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    if args.command == "orders":
        from .entrypoints import batch

        return batch.main(args.file, as_json=args.json)
    if args.command == "checkouts":
        return _recover(args.older_than)
    if args.command == "token":
        return _token(args.user_id, args.days)
    if args.command == "serve":
        from .entrypoints.app import create_app

        create_app().run(host=args.host, port=args.port, threaded=True)
        return 0
    return 2  # pragma: no cover


def _recover(older_than: int) -> int:
    import json

    from .bootstrap import build_checkout

    checkout = build_checkout()
    try:
        recovered = checkout.workflow.recover_stale(None, older_than)
    finally:
        checkout.close()
    print(json.dumps({"recovered": recovered}, ensure_ascii=False, indent=1))
    return 0


def _token(user_id: str, days: float | None) -> int:
    """Mint a session for a shopper somebody has (a profile, or a guest or sender the sales agent knows): a typo
    never becomes a token for a shopper nobody is. The token works against every sales service that shares the
    session secret (SALES_SESSION_SECRET, or var/sales-session.secret)."""
    from agentkit import AgentCallError

    from .auth import DAY, SessionAuth
    from .bootstrap import build_checkout
    from .guests import Identities
    from .shoppers import ShopperUnknown, check_exists

    checkout = build_checkout()
    try:
        identities = Identities(checkout.store.db)
        try:
            check_exists(checkout.clients, identities, user_id)
        except ShopperUnknown as exc:
            print(f"{exc}; a new shopper starts with POST /sessions/guest or the terminal", file=sys.stderr)
            return 2
        except AgentCallError as exc:
            print(f"cannot tell whether {user_id!r} is a shopper: {exc.message}", file=sys.stderr)
            return 1
        lifetime = days * DAY if days is not None else None
        print(SessionAuth(checkout.settings).mint(user_id, guest=identities.is_guest(user_id), lifetime=lifetime))
    finally:
        checkout.close()
    return 0


def chat() -> int:
    """The ``retail-chat`` console script: ``python -m sales_agent chat``."""
    return _chat(sys.argv[1:])


def orders() -> int:
    """The ``retail-orders`` console script: ``python -m sales_agent orders ...``."""
    return main(["orders", *sys.argv[1:]])


def _chat(args: list[str]) -> int:
    from .entrypoints import terminal

    return terminal.main(args) or 0


if __name__ == "__main__":
    sys.exit(main())
