"""The docs tell the truth: the API reference matches the contracts, every curl in it works when pasted
against freshly started agents, the README is a screen's worth with its curl taken from the reference, and
every environment variable the code reads is in the configuration table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from agentkit.contracts import contract_names, load_contract
from agentkit.registry import agents
from agentkit.settings import KitSettings
from sales_agent.settings import Settings as SalesSettings
from support import served

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
API = (DOCS / "api.md").read_text()
SALES = (DOCS / "sales-agent.md").read_text()
CONFIGURATION = (DOCS / "configuration.md").read_text()


def test_api_section_is_generated_from_the_contracts():
    result = subprocess.run(
        [sys.executable, "scripts/api_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def curl_blocks(port_8000: bool = False) -> list[str]:
    """The pasteable curl commands: the agents' (generated API section) or the chat API's walk-through."""
    begin, end = (
        ("<!-- chat-api:begin -->", "<!-- chat-api:end -->") if port_8000 else ("<!-- api:begin", "<!-- api:end")
    )
    section = (SALES if port_8000 else API).split(begin, 1)[1].split(end, 1)[0]
    return [b for b in re.findall(r"```bash\n(.*?)```", section, re.S) if b.startswith("curl ")]


def test_the_readme_fits_a_screen_and_links_every_doc():
    assert len(README.splitlines()) <= 200
    linked = set(re.findall(r"\]\((docs/[a-z-]+\.md)\)", README))
    assert linked == {f"docs/{p.name}" for p in DOCS.glob("*.md")}


def test_the_readme_curl_is_one_of_the_reference():
    readme_curls = [b for b in re.findall(r"```bash\n(.*?)```", README, re.S) if "curl " in b]
    assert readme_curls, "the README shows no curl"
    for block in readme_curls:
        curl = block[block.index("curl ") :]
        assert curl in curl_blocks(), f"the README's curl is not in docs/api.md: {curl}"


def test_every_operation_example_has_a_curl():
    expected = sum(len(op.examples) for name in contract_names() for op in load_contract(name).operations.values())
    assert len(curl_blocks()) == expected


def run_curl(block: str, base_from: str, base_to: str, token: str = "", **env_vars: str) -> tuple[int, str]:
    command = block.replace(base_from, base_to).replace("curl -s", "curl -s -w '\\n%{http_code}'", 1)
    env = {**os.environ, "TOKEN": token, **env_vars}
    output = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, env=env).stdout
    body, _, code = output.rpartition("\n")
    return int(code), body


def make_token(role: str) -> str:
    """What the README says to run: ``make -s token ROLE=<caller>``, in this test's environment."""
    done = subprocess.run(["make", "-s", "token", f"ROLE={role}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_session(user_id: str, urls: dict[str, str], var: Path) -> str:
    """What docs/sales-agent.md says to run: ``make -s session USER_ID=<id>``, against the agents under test."""
    env = {
        **os.environ,
        "VAR_DIR": str(var),
        **{f"{n.upper().replace('-', '_')}_AGENT_URL": u for n, u in urls.items()},
    }
    command = ["make", "-s", "session", f"USER_ID={user_id}"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


TELEGRAM_SECRET = "readme-telegram-secret"


def test_every_curl_works_when_pasted(tmp_path):
    ports = {load_contract(name).port: name for name in contract_names()}
    expected_statuses = [int(s) for s in re.findall(r"\*\*\w+\*\* `POST [^`]+` — .*? → (\d{3})", API)]
    tokens: dict[str, str] = {}
    with served(tmp_path, [*agents(), "sales"], extra_env={"TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET}) as urls:
        for index, (block, status) in enumerate(zip(curl_blocks(), expected_statuses, strict=True)):
            assert '-H "Authorization: Bearer $TOKEN"' in block, block
            port, path = re.search(r"http://127\.0\.0\.1:(\d+)(/[a-z-]+)", block).groups()
            name = ports[int(port)]
            op = next(op for op in load_contract(name).operations.values() if op.path == path)
            role = op.callers[0]
            if role not in tokens:
                tokens[role] = make_token(role)
            code, body = run_curl(block, f"http://127.0.0.1:{port}", urls[name], tokens[role])
            assert code == status, (block, body)
            json.loads(body)
            if index == 0:  # pasted without a token, or with another caller's, it is refused
                assert run_curl(block, f"http://127.0.0.1:{port}", urls[name])[0] == 401
                outsider = next(c for c in ("operator", "loyalty", "payment") if c not in op.callers)
                assert run_curl(block, f"http://127.0.0.1:{port}", urls[name], make_token(outsider))[0] == 403
        # The chat API walk-through: a guest session; then, with U1002's session, a search, add to cart,
        # checkout and confirm; then Telegram asks for the order. Without the session the chat refuses.
        assert "TOKEN=$(make -s session USER_ID=U1002)" in SALES
        token = make_session("U1002", urls, tmp_path / "operator")
        replies = []
        for block in curl_blocks(port_8000=True):
            code, body = run_curl(
                block, "http://127.0.0.1:8000", urls["sales"], token, TELEGRAM_SECRET_TOKEN=TELEGRAM_SECRET
            )
            assert code in (200, 201), (block, body)
            replies.append(json.loads(body))
            if "/chat" in block and len(replies) == 2:
                assert run_curl(block, "http://127.0.0.1:8000", urls["sales"])[0] == 401
        assert len(replies) == 6
        assert replies[0]["userId"] and replies[0]["token"] and replies[0]["userId"] != "U1002"
        assert "Alpine Puffer Jacket" in replies[1]["reply"]
        assert replies[2]["cart"]["lines"], replies[2]
        assert replies[3]["pendingConfirmation"]["total"] > 0, replies[3]
        assert re.search(r"ORD-\d{6}", replies[4]["reply"]), replies[4]
        assert replies[5]["method"] == "sendMessage" and "ORD-" in replies[5]["text"], replies[5]
        assert "4242424242424242" not in json.dumps(replies)
        # The batch example: the good orders become orders, the declined and sold-out ones are reported.
        env = {**os.environ, "VAR_DIR": str(tmp_path / "batch")}
        env.update({f"{n.upper().replace('-', '_')}_AGENT_URL": url for n, url in urls.items()})
        batch = subprocess.run(
            [sys.executable, "-m", "sales_agent", "orders", "process", "sales-agent/examples/orders.json", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert batch.returncode == 0, batch.stderr
        results = json.loads(batch.stdout)
        outcomes = [bool(result.get("orderId")) for result in results]
        assert outcomes == [True, True, False, False, True], batch.stdout


def test_every_environment_variable_is_documented():
    sources = [p for p in ROOT.glob("**/*.py") if ".venv" not in p.parts and "tests" not in p.parts]
    names = set()
    for path in sources:
        text = path.read_text()
        names |= set(re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", text))
        names |= set(re.findall(r"environ\[\s*[\"']([A-Z][A-Z0-9_]+)[\"']\s*\]", text))
        names |= set(re.findall(r"getenv\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", text))
    names |= {field.upper() for field in KitSettings.model_fields}  # the kit's, read through its settings
    names |= {str(f.validation_alias) for f in SalesSettings.model_fields.values() if f.validation_alias}
    table = CONFIGURATION
    per_agent = re.compile(
        r"^(FULFILLMENT|RECOMMENDATION|INVENTORY|POST_PURCHASE|PAYMENT|LOYALTY|SALES|GIFT_WRAPPING)_"
        r"(DATABASE_URL|AGENT_URL|PORT)$"
    )
    missing = sorted(n for n in names if f"`{n}`" not in table and not per_agent.match(n))
    assert missing == [], f"not in the README's configuration table: {missing}"
