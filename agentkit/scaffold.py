"""Scaffold a new agent that works end to end before anyone edits it: ``python -m agentkit.scaffold NAME PORT``
(``make new-agent NAME=gift-cards PORT=5008``).

It writes, in the shape of every other agent:
- ``<name>-agent/<pkg>_agent/{__init__,app,domain,storage}.py`` and ``seed/items.json`` (a thin HANDLERS table,
  the rules in domain.py, SQLAlchemy Core storage with a seed loader);
- ``<name>-agent/tests/test_<pkg>_rules.py``: behaviour tests of the example operation;
- ``contracts/<name>.json`` with one real operation (``POST /get-<name>-item {itemId}`` -> a seeded item with a
  name and a price, 404 for an unknown id) and its released copy in ``contracts/released/``;
- the run entry in ``agents.toml``, the service in ``docker-compose.yml`` (plus ``<PREFIX>_AGENT_URL`` in the
  shared environment and the sales service's ``depends_on``), the database in ``docker/postgres-init.sql``;
- the sales agent's tool in ``sales-agent/sales_agent/tools/<pkg>.py``;
and regenerates the API reference (scripts/api_docs.py, docs/api.md) so the docs test stays true.

It refuses (exit 2, one line on stderr, nothing written) a taken name, a taken port, an invalid name or a port
outside 1024-65535. The edits of agents.toml, docker-compose.yml and postgres-init.sql are textual (comments and
anchors stay) and each result is parsed again and checked before anything is written.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from .contracts import REPO_ROOT

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
RESERVED = {"sales", "common", "meta-schema", "released", "postgres", "redis", "agentkit"}


class Refused(Exception):
    """A reason not to scaffold, said in one line."""


# --- names -------------------------------------------------------------------------------------


class Names:
    def __init__(self, name: str, port: int):
        self.name = name  # gift-cards
        self.port = port  # 5008
        self.under = name.replace("-", "_")  # gift_cards
        self.pkg = f"{self.under}_agent"  # gift_cards_agent
        self.folder = f"{name}-agent"  # gift-cards-agent
        self.prefix = name.upper().replace("-", "_")  # GIFT_CARDS
        words = name.split("-")
        self.camel = "".join(w.capitalize() for w in words)  # GiftCards
        self.title = name.replace("-", " ").capitalize()  # Gift cards
        self.op_id = f"get{self.camel}Item"  # getGiftCardsItem
        self.path = f"/get-{name}-item"  # /get-gift-cards-item
        self.fn = f"get_{self.under}_item"  # get_gift_cards_item (domain function and tool)


def _check_name(name: str) -> None:
    if not NAME_RE.match(name) or name.endswith("-agent") or name.endswith("-") or "--" in name:
        raise Refused(
            f"invalid name {name!r}: use 2-31 characters of a-z, 0-9 and single hyphens, starting with a "
            "letter, not ending in '-' or '-agent' (e.g. gift-cards)"
        )
    if name in RESERVED:
        raise Refused(f"name {name!r} is reserved")


def _parse_port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise Refused(f"invalid port {text!r}: use a number from 1024 to 65535") from None
    if not 1024 <= port <= 65535:
        raise Refused(f"invalid port {port}: use a number from 1024 to 65535")
    return port


def _used_ports(root: Path, run: dict, compose: dict) -> dict[int, str]:
    used: dict[int, str] = {}
    for section in ("agents", "services"):
        for other, spec in run.get(section, {}).items():
            if "port" in spec:
                used.setdefault(int(spec["port"]), f"{other} in agents.toml")
    for path in sorted((root / "contracts").glob("*.json")):
        port = json.loads(path.read_text(encoding="utf-8")).get("port")
        if isinstance(port, int):
            used.setdefault(port, f"contracts/{path.name}")
    for service_name, service in (compose.get("services") or {}).items():
        for published in (service or {}).get("ports") or []:
            host = str(published).split(":")[0]
            if host.isdigit():
                used.setdefault(int(host), f"compose service {service_name}")
    return used


def _check_free(root: Path, n: Names, run: dict, compose: dict, init_sql: str) -> None:
    taken = []
    if (root / n.folder).exists():
        taken.append(f"folder {n.folder}/")
    if (root / "contracts" / f"{n.name}.json").exists():
        taken.append(f"contracts/{n.name}.json")
    if n.name in run.get("agents", {}) or n.name in run.get("services", {}):
        taken.append("an agents.toml entry")
    if n.name in (compose.get("services") or {}):
        taken.append("a docker-compose.yml service")
    if (root / "sales-agent" / "sales_agent" / "tools" / f"{n.under}.py").exists():
        taken.append(f"sales-agent/sales_agent/tools/{n.under}.py")
    if re.search(rf"^CREATE DATABASE {n.under};", init_sql, re.M):
        taken.append(f"database {n.under} in docker/postgres-init.sql")
    if taken:
        raise Refused(f"name {n.name!r} is taken: {', '.join(taken)} already exist(s)")
    used = _used_ports(root, run, compose)
    if n.port in used:
        raise Refused(f"port {n.port} is taken by {used[n.port]}; free ports start at {_next_free(used)}")


def _next_free(used: dict[int, str]) -> int:
    port = max((p for p in used if 5000 <= p < 6000), default=5000) + 1
    while port in used:
        port += 1
    return port


# --- textual edits, each checked by parsing the result ----------------------------------------------


def edit_agents_toml(text: str, n: Names) -> str:
    block = f'[agents.{n.name}]\nfolder = "{n.folder}"\nport = {n.port}\napp = "{n.pkg}.app:create_app()"\n\n'
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.startswith("# Not an agent with a contract")), None)
    if at is None:
        at = next((i for i, line in enumerate(lines) if line.startswith("[services.")), None)
    if at is None:
        new = text.rstrip("\n") + "\n\n" + block
    else:
        new = "".join(lines[:at]) + block + "".join(lines[at:])
    entry = tomllib.loads(new).get("agents", {}).get(n.name)
    expected = {"folder": n.folder, "port": n.port, "app": f"{n.pkg}.app:create_app()"}
    if entry != expected:
        raise Refused(f"could not add the agents.toml entry cleanly (parsed back as {entry!r})")
    return new


def _service_block(n: Names) -> str:
    return (
        f"  {n.name}:\n"
        f"    <<: *agent\n"
        f'    command: ["gunicorn", "-c", "python:agentkit.gunicorn_conf", '
        f'"--bind", "0.0.0.0:{n.port}", "{n.pkg}.app:create_app()"]\n'
        f'    ports: ["127.0.0.1:{n.port}:{n.port}"]\n'
        f"    environment:\n"
        f"      <<: *agent-env\n"
        f"      AGENT_CALLER: {n.name}\n"
        f"      {n.prefix}_DATABASE_URL: postgresql://retail:retail@postgres:5432/{n.under}\n"
        f"    healthcheck:\n"
        f'      test: ["CMD", "python", "-c", "import urllib.request; '
        f"urllib.request.urlopen('http://127.0.0.1:{n.port}/ready', timeout=2)\"]\n"
        f"      interval: 10s\n"
        f"      timeout: 3s\n"
        f"      retries: 10\n\n"
    )


def edit_compose(text: str, n: Names) -> str:
    lines = text.splitlines(keepends=True)
    services_at = next((i for i, line in enumerate(lines) if line.rstrip() == "services:"), None)
    if services_at is None:
        raise Refused("docker-compose.yml has no top-level 'services:' line")

    # 1. <PREFIX>_AGENT_URL after the last *_AGENT_URL of the shared environment (before services:).
    url_lines = [i for i in range(services_at) if re.match(r"^\s+[A-Z0-9_]+_AGENT_URL:\s", lines[i])]
    if not url_lines:
        raise Refused("docker-compose.yml has no shared environment with *_AGENT_URL entries before 'services:'")
    last_url = url_lines[-1]
    indent = lines[last_url][: len(lines[last_url]) - len(lines[last_url].lstrip())]
    url_line = f"{indent}{n.prefix}_AGENT_URL: http://{n.name}:{n.port}\n"

    # 2. the service block before the sales service (or before the next top-level key, or at the end).
    sales_at = next((i for i in range(services_at, len(lines)) if lines[i].rstrip() == "  sales:"), None)
    if sales_at is None:
        sales_at = next((i for i in range(services_at + 1, len(lines)) if re.match(r"^\S", lines[i])), len(lines))

    # 3. the sales service waits for it: after the last "      x: {condition: ...}" of its depends_on.
    depends_at = None
    if lines[sales_at : sales_at + 1] and lines[sales_at].rstrip() == "  sales:":
        end = next((i for i in range(sales_at + 1, len(lines)) if re.match(r"^  \S|^\S", lines[i])), len(lines))
        block = range(sales_at, end)
        start = next((i for i in block if lines[i].rstrip() == "    depends_on:"), None)
        if start is not None:
            entries = []
            for i in range(start + 1, end):
                if re.match(r"^      [a-z0-9-]+:", lines[i]):
                    entries.append(i)
                else:
                    break
            depends_at = entries[-1] if entries else None
    if depends_at is not None:
        dep_line = f"      {n.name}: {{condition: service_healthy}}\n"
        lines.insert(depends_at + 1, dep_line)
    block_text = _service_block(n)
    if sales_at >= len(lines) and not text.endswith("\n\n"):
        block_text = "\n" + block_text
    lines.insert(sales_at, block_text)
    lines.insert(last_url + 1, url_line)
    new = "".join(lines)

    parsed = yaml.safe_load(new)
    services = parsed.get("services", {})
    service = services.get(n.name) or {}
    from .consistency import _check_service, _shared_env  # the same checks the consistency test runs

    problems = _check_service(n.name, n.port, service)
    if _shared_env(services).get(f"{n.prefix}_AGENT_URL") != f"http://{n.name}:{n.port}":
        problems.append(f"{n.prefix}_AGENT_URL is not in the shared environment")
    if "sales" in services and n.name not in (services["sales"].get("depends_on") or {}):
        problems.append("the sales service does not depend on it")
    if problems:
        raise Refused("could not edit docker-compose.yml cleanly: " + "; ".join(problems))
    return new


def edit_init_sql(text: str, n: Names) -> str:
    line = f"CREATE DATABASE {n.under};\n"
    lines = text.splitlines(keepends=True)
    at = next((i for i, x in enumerate(lines) if x.strip() == "CREATE DATABASE sales;"), None)
    if at is None:
        creates = [i for i, x in enumerate(lines) if x.startswith("CREATE DATABASE ")]
        at = creates[-1] + 1 if creates else len(lines)
    if lines and not lines[-1].endswith("\n") and at == len(lines):
        lines[-1] += "\n"
    lines.insert(at, line)
    new = "".join(lines)
    if len(re.findall(rf"^CREATE DATABASE {n.under};$", new, re.M)) != 1:
        raise Refused("could not add the database to docker/postgres-init.sql cleanly")
    return new


# --- the generated files ----------------------------------------------------------------------

SEED_ITEMS = [
    {"itemId": "ITEM-001", "name": "Classic", "price": 499},
    {"itemId": "ITEM-002", "name": "Premium", "price": 1499.5},
    {"itemId": "ITEM-003", "name": "Festive", "price": 2999},
]


def _seed(n: Names) -> dict:
    return {
        "source": f"Example data written by agentkit.scaffold for the {n.name} agent: replace it with the real data.",
        "items": [{**item, "name": f"{item['name']} {n.title.lower()} item"} for item in SEED_ITEMS],
    }


def _contract(n: Names) -> dict:
    first = _seed(n)["items"][0]
    return {
        "$schema": "./meta-schema.json",
        "name": n.name,
        "title": f"{n.title} agent",
        "version": "1.0.0",
        "port": n.port,
        "description": (
            f"The {n.name} agent, as scaffolded: one example operation that looks up a seeded item "
            f"by id and gives its name and price in rupees. Replace this description with what the "
            f"agent does, written for a shopper-facing LLM and for a developer."
        ),
        "operations": {
            n.op_id: {
                "method": "POST",
                "path": n.path,
                "summary": f"One {n.name} item by id",
                "description": (
                    f"The {n.name} item with this id (like ITEM-001): its name and its price in "
                    f"rupees. An unknown id is 404."
                ),
                "safe": True,
                "callers": ["sales", "operator"],
                "request": {
                    "type": "object",
                    "properties": {"itemId": {"$ref": "#/$defs/itemId"}},
                    "required": ["itemId"],
                    "additionalProperties": False,
                },
                "responses": {
                    "200": {"$ref": "#/$defs/item"},
                    "404": {"$ref": "common.json#/$defs/errorResponse"},
                },
                "examples": [
                    {
                        "name": "a seeded item",
                        "request": {"itemId": first["itemId"]},
                        "response": {
                            "status": 200,
                            "body": {
                                "itemId": first["itemId"],
                                "name": first["name"],
                                "price": first["price"],
                                "currency": "INR",
                            },
                        },
                    },
                    {
                        "name": "unknown item",
                        "request": {"itemId": "ITEM-999"},
                        "response": {
                            "status": 404,
                            "body": {
                                "error": {
                                    "code": "not_found",
                                    "message": "No item with id 'ITEM-999'.",
                                    "details": [{"field": "itemId", "message": "unknown item"}],
                                }
                            },
                        },
                    },
                ],
            }
        },
        "$defs": {
            "itemId": {"type": "string", "pattern": "^ITEM-[0-9]{3}$", "description": "An item id, like ITEM-001."},
            "item": {
                "type": "object",
                "description": f"One {n.name} item.",
                "properties": {
                    "itemId": {"$ref": "#/$defs/itemId"},
                    "name": {"type": "string", "minLength": 1, "description": "What to call it to the shopper."},
                    "price": {"type": "number", "minimum": 0, "description": "Price in rupees, at most two decimals."},
                    "currency": {"const": "INR"},
                },
                "required": ["itemId", "name", "price", "currency"],
                "additionalProperties": False,
            },
        },
    }


def _files(n: Names) -> dict[str, str]:
    pkg = f"{n.folder}/{n.pkg}"
    first = _seed(n)["items"][0]
    files = {
        f"{pkg}/__init__.py": f'"""The {n.name} agent (scaffolded by agentkit.scaffold): say here what it owns and does."""\n',
        f"{pkg}/app.py": f'''"""{n.title} agent: the contract's operations mapped to the rules in domain.py.

It calls no other agent. To call one, build ``clients = clients or {{"inventory": AgentClient("inventory")}}`` in
create_app and bind it with ``functools.partial(domain.fn, inventory=clients["inventory"])``; it calls as
"{n.name}", so add "{n.name}" to the callers of each operation it uses in that agent's contract.
"""
from agentkit import AgentApp, Database, create_agent_app

from . import domain, storage

HANDLERS = {{
    "{n.op_id}": domain.{n.fn},
}}


def create_app(database_url: str | None = None, config: dict | None = None) -> AgentApp:
    db = Database("{n.name}", storage.metadata, storage.load_seed, url=database_url)
    return create_agent_app("{n.name}", db, HANDLERS, config)
''',
        f"{pkg}/domain.py": f'''"""{n.title} rules: plain functions, one per operation, raising agentkit errors.

The kit has already checked the request against contracts/{n.name}.json and checks the answer after.
"""
from __future__ import annotations

from typing import Any

from agentkit import Database, NotFound

from . import storage


def _rupees(value: Any) -> float:
    return round(float(value), 2)


def _item_view(row: dict[str, Any]) -> dict[str, Any]:
    return {{"itemId": row["item_id"], "name": row["name"], "price": _rupees(row["price"]), "currency": "INR"}}


def {n.fn}(db: Database, body: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        row = storage.item(conn, body["itemId"])
    if row is None:
        raise NotFound.of("item", body["itemId"], "itemId")
    return _item_view(row)
''',
        f"{pkg}/storage.py": f'''"""{n.title} tables and the queries the rules need (SQLAlchemy Core; SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

metadata = sa.MetaData()
MONEY = sa.Numeric(12, 2)

items = sa.Table(
    "items", metadata,
    sa.Column("item_id", sa.String(20), primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("price", MONEY, nullable=False),
    sa.CheckConstraint("price >= 0", name="item_price_not_negative"),
)

SEED_DIR = Path(__file__).parent / "seed"


def load_seed(conn: Connection) -> None:
    seeded = json.loads((SEED_DIR / "items.json").read_text(encoding="utf-8"))["items"]
    conn.execute(items.insert(), [
        {{"item_id": i["itemId"], "name": i["name"], "price": i["price"]}} for i in seeded
    ])


# --- reads -------------------------------------------------------------------------------------

def item(conn: Connection, item_id: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(items).where(items.c.item_id == item_id)).first()
    return dict(row._mapping) if row else None


def item_count(conn: Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
''',
        f"{pkg}/seed/items.json": json.dumps(_seed(n), indent=1, ensure_ascii=False) + "\n",
        f"{n.folder}/tests/test_{n.under}_rules.py": f'''"""{n.title}: the example operation answers seeded items, refuses unknown and malformed ids, and the
seed is loaded once per database (a restart does not load it again).

The app is built with ``{n.pkg}.app.create_app`` directly, on a fresh SQLite file or (with
TEST_DATABASE=postgres) a fresh PostgreSQL database.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from {n.pkg} import storage
from {n.pkg}.app import create_app
from support import fresh_database_url

SEED = json.loads((Path(storage.__file__).parent / "seed" / "items.json").read_text(encoding="utf-8"))["items"]


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    return fresh_database_url("{n.name}", tmp_path)


@pytest.fixture
def app(database_url):
    built = create_app(database_url=database_url)
    built.testing = True
    yield built
    built.db.dispose()


def get_item(client, item_id):
    return client.post("{n.path}", json={{"itemId": item_id}})


@pytest.mark.parametrize("seeded", SEED, ids=[i["itemId"] for i in SEED])
def test_a_seeded_item_comes_with_its_name_and_price_in_rupees(app, seeded):
    reply = get_item(app.test_client(), seeded["itemId"])
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {{"itemId": seeded["itemId"], "name": seeded["name"],
                                "price": round(float(seeded["price"]), 2), "currency": "INR"}}


def test_the_first_item_is_{first["itemId"].lower().replace("-", "_")}(app):
    body = get_item(app.test_client(), "{first["itemId"]}").get_json()
    assert (body["name"], body["price"]) == ("{first["name"]}", {first["price"]})


def test_an_unknown_item_is_404_naming_the_field(app):
    reply = get_item(app.test_client(), "ITEM-999")
    assert reply.status_code == 404
    error = reply.get_json()["error"]
    assert error["code"] == "not_found" and "ITEM-999" in error["message"]
    assert error["details"] == [{{"field": "itemId", "message": "unknown item"}}]


@pytest.mark.parametrize("bad", ["item-001", "ITEM-1", "ITEM-0001", "", "P1001"])
def test_a_malformed_item_id_is_400_naming_the_field(app, bad):
    reply = get_item(app.test_client(), bad)
    assert reply.status_code == 400
    assert "itemId" in [d["field"] for d in reply.get_json()["error"]["details"]]


def test_the_seed_is_loaded_once_and_survives_a_restart(database_url):
    first = create_app(database_url=database_url)
    with first.db.read() as conn:
        assert storage.item_count(conn) == len(SEED)
    first.db.dispose()
    again = create_app(database_url=database_url)
    again.testing = True
    with again.db.read() as conn:
        assert storage.item_count(conn) == len(SEED)
    assert get_item(again.test_client(), SEED[-1]["itemId"]).status_code == 200
    again.db.dispose()
''',
        f"sales-agent/sales_agent/tools/{n.under}.py": f'''"""The sales agent's tool for the {n.name} agent (scaffolded by agentkit.scaffold; edit it with the contract).

``sales_agent.tools.registry`` finds this module: every function declared with ``@declare`` joins the model's
tools, with the agent operations it may call. Like every tool it returns compact JSON and never raises: a
failure is ``{{"error": {{agent, operation, code, message}}}}``.

Try it against a running agent: ``.venv/bin/python -m sales_agent.tools.{n.under} {first["itemId"]}``
"""
from __future__ import annotations

import re
import sys
from typing import Any

from langchain.tools import ToolRuntime

from ..context import SalesContext
from ..errors import ToolFailure
from ..offline.skills.base import Skill
from .registry import declare, service

AGENT = "{n.name}"
ITEM_ID_RE = re.compile(r"^ITEM-[0-9]{{3}}$")
ITEM_IN_TEXT_RE = re.compile(r"\\bITEM-[0-9]{{3}}\\b", re.I)


@declare((AGENT, "{n.op_id}"))
def {n.fn}(runtime: ToolRuntime[SalesContext], item_id: str):
    """Look up one {n.name} item by id (like ITEM-001): its name and its price in rupees."""
    parts = service(runtime)
    value = (item_id or "").strip().upper()
    if not ITEM_ID_RE.match(value):
        raise ToolFailure("invalid_argument", f"item_id must look like ITEM-001, not {{item_id!r}}.",
                          operation="{n.fn}")
    found = parts.clients.call(AGENT, "{n.op_id}", {{"itemId": value}})
    return {{"itemId": found["itemId"], "name": found["name"], "price": found["price"], "currency": found["currency"]}}


# --- the offline model's skill: how a shopper's message reaches this tool with no LLM ---------------------


def plan_{n.fn}(planner: Any, slots: dict[str, Any], memory: Any) -> Any:
    """Look the item up when the message names one (ITEM-001), else ask which."""
    from ..offline.model import Step  # here, not at the top: the offline model imports the tools

    found = ITEM_IN_TEXT_RE.search(slots.get("text") or "")
    if not found:
        return Step(reply="Which {n.name} item? Give me its id, like {first["itemId"]}.", awaiting=["item_id"])
    return planner.calls(planner.call("{n.fn}", item_id=found.group(0).upper()))


def reply_{n.fn}(tool: str, args: dict[str, Any], data: Any, memory: Any) -> str | None:
    """The reply from the tool's result (errors are written by the offline model itself)."""
    if not isinstance(data, dict) or "name" not in data:
        return None
    return f"**{{data['name']}}** costs ₹{{data['price']:,}}."


SKILLS = [
    Skill(
        name="{n.fn}",
        family="search",
        examples=(
            "look up {n.name} item ITEM-001",
            "what does the {n.name} item ITEM-002 cost",
            "price of {n.name} ITEM-003",
            "tell me about the {n.name} item",
            "find a {n.name} item by its id",
            "how much is {n.name} item ITEM-001",
        ),
        plan=plan_{n.fn},
        slots=("item_id",),
        tools=("{n.fn}",),
        reply=reply_{n.fn},
        keywords=(r"\\bitem-[0-9]{{3}}\\b",),  # this agent's ids decide outright (the text is lower-cased)
    )
]


def main(argv: list[str] | None = None) -> int:
    """Call the tool once the way the agent graph does, against the agent at {n.prefix}_AGENT_URL
    (default: its port on 127.0.0.1), and print the JSON the model would see."""
    import json
    from types import SimpleNamespace

    from ..clients import Clients
    from ..testing import invoke_tool

    args = sys.argv[1:] if argv is None else argv
    service = SimpleNamespace(clients=Clients())  # this tool needs only the clients of a SalesTools
    result, calls = invoke_tool(service, "{n.fn}", "U1001", item_id=args[0] if args else "{first["itemId"]}")
    print(json.dumps(result, ensure_ascii=False))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
''',
    }
    files[f"contracts/{n.name}.json"] = json.dumps(_contract(n), indent=1, ensure_ascii=False) + "\n"
    return files


# --- main --------------------------------------------------------------------------------------


def plan(root: Path, name: str, port_text: str) -> tuple[Names, dict[str, str]]:
    """Every file to write (path relative to root -> text), or Refused. Writes nothing."""
    _check_name(name)
    port = _parse_port(port_text)
    n = Names(name, port)
    toml_text = (root / "agents.toml").read_text(encoding="utf-8")
    compose_text = (root / "docker-compose.yml").read_text(encoding="utf-8")
    init_path = root / "docker" / "postgres-init.sql"
    init_text = init_path.read_text(encoding="utf-8") if init_path.exists() else ""
    _check_free(root, n, tomllib.loads(toml_text), yaml.safe_load(compose_text) or {}, init_text)
    files = _files(n)
    files["agents.toml"] = edit_agents_toml(toml_text, n)
    files["docker-compose.yml"] = edit_compose(compose_text, n)
    files["docker/postgres-init.sql"] = edit_init_sql(init_text, n)
    files["pyproject.toml"] = edit_pyproject(root / "pyproject.toml", n)
    return n, files


def edit_pyproject(path: Path, n: Names) -> str:
    """Add the agent's folder to the package roots, so ``pip install -e .`` installs its package."""
    text = path.read_text(encoding="utf-8")
    anchor = '    "sales-agent",\n]'
    if anchor not in text:
        raise Refused("pyproject.toml has no [tool.setuptools.packages.find] list ending with sales-agent")
    return text.replace(anchor, f'    "{n.folder}",\n{anchor}', 1)


def install(root: Path) -> None:
    """Re-install the project in place so the new package imports (editable installs map packages statically)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(root),
        ],
        check=True,
        cwd=root,
    )


def write(root: Path, n: Names, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    from .compat import release

    release(n.name)


def main(argv: list[str] | None = None, root: Path = REPO_ROOT) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m agentkit.scaffold NAME PORT   (make new-agent NAME=gift-cards PORT=5008)", file=sys.stderr
        )
        return 2
    try:
        n, files = plan(root, args[0], args[1])
    except Refused as exc:
        print(f"new-agent: refused: {exc}", file=sys.stderr)
        return 2
    write(root, n, files)
    install(root)
    readme_script = root / "scripts" / "api_docs.py"
    if readme_script.exists():
        done = subprocess.run([sys.executable, str(readme_script)], cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"warning: docs/api.md not regenerated: {done.stderr.strip()}", file=sys.stderr)
    print(
        f"created the {n.name} agent on port {n.port}: {n.folder}/, contracts/{n.name}.json (released), "
        f"agents.toml, docker-compose.yml, docker/postgres-init.sql, "
        f'sales-agent/sales_agent/tools/{n.under}.py; try: POST {n.path} {{"itemId": "ITEM-001"}}'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
