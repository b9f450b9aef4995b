"""Print a bearer token for one caller: ``python -m agentkit.token operator`` (``make token ROLE=operator``).

The token is derived from the service secret the agents use (``AGENT_API_TOKEN``, or the one under ``var/``,
made now if there is none yet), so it works against agents started from the same environment:

    TOKEN=$(make -s token ROLE=operator)
    curl -H "Authorization: Bearer $TOKEN" ...
"""

from __future__ import annotations

import argparse
import sys

from .auth import ServiceAuth, known_callers, service_secret


def main(argv: list[str] | None = None) -> int:
    callers = known_callers()
    parser = argparse.ArgumentParser(prog="python -m agentkit.token", description=__doc__.split("\n\n")[0])
    parser.add_argument("role", metavar="ROLE", help=f"the caller: {', '.join(callers)}")
    args = parser.parse_args(argv)
    if args.role not in callers:
        print(f"unknown caller {args.role!r}; one of: {', '.join(callers)}", file=sys.stderr)
        return 2
    print(ServiceAuth(service_secret()).token_for(args.role))
    return 0


if __name__ == "__main__":
    sys.exit(main())
