"""``make new-agent`` works as documented: the commands of the README's "Adding an agent" section are run,
as pasted, on a copy of the repository.

After the scaffold, with no edit: the consistency check passes, the generic suites and the agent's own tests pass
for the new agent, it starts under gunicorn and answers its example over HTTP, and the sales agent's tool calls it.
Refusals (taken name, taken port, bad name, bad port) exit 2 with a one-line reason and write nothing.
The copy shares the real virtual environment through a ``.venv`` symlink, so ``.venv/bin/python`` and ``make``
work there unchanged.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from support import Runner, free_port, wait_for_line

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
SECTION = "# Adding an agent"
COPY_IGNORES = shutil.ignore_patterns(
    ".venv", "var", "__pycache__", ".git", ".hypothesis", ".pytest_cache", "*.db", "*.db-shm", "*.db-wal", "*.pyc"
)
# Whatever the caller's environment says about agents, databases or paths must not reach the copy.
ENV_DROPS = re.compile(
    r"^(PYTHONPATH|CONTRACTS_DIR|VAR_DIR|TEST_DATABASE|MAKEFLAGS|MFLAGS|MAKELEVEL|"
    r"[A-Z_]+_(AGENT_URL|DATABASE_URL|PORT))$"
)


def section_text() -> str:
    return (ROOT / "docs" / "adding-an-agent.md").read_text(encoding="utf-8").split(SECTION, 1)[1]


def command_blocks(text: str) -> list[str]:
    """Every ```bash block of the section, in order, dedented (blocks may sit inside a numbered list)."""
    blocks = re.findall(r"^( *)```bash\n(.*?)^\1```", text, re.S | re.M)
    return [textwrap.dedent(body).strip() for _indent, body in blocks]


BLOCKS = command_blocks(section_text())
SCAFFOLD = next(b for b in BLOCKS if b.startswith("make new-agent "))
DOC_NAME = re.search(r"NAME=([a-z0-9-]+)", SCAFFOLD).group(1)
DOC_PORT = int(re.search(r"PORT=(\d+)", SCAFFOLD).group(1))


def _taken(root: Path) -> tuple[set[str], set[int]]:
    run = tomllib.loads((root / "agents.toml").read_text())
    names = (
        {p.name.removesuffix("-agent") for p in root.glob("*-agent")}
        | set(run.get("agents", {}))
        | set(run.get("services", {}))
        | {p.stem for p in (root / "contracts").glob("*.json")}
    )
    ports = {spec["port"] for section in ("agents", "services") for spec in run.get(section, {}).values()}
    ports |= {json.loads(p.read_text()).get("port") for p in (root / "contracts").glob("*.json")}
    return names, ports


def _choose_name_and_port() -> tuple[str, int]:
    """The documented name and port, unless the real repository already uses them (someone followed the docs)."""
    names, ports = _taken(ROOT)
    name = DOC_NAME
    while name in names:
        name = f"{name[:25]}-x"
    port = DOC_PORT
    while port in ports:
        port += 1
    return name, port


NAME, PORT = _choose_name_and_port()
UNDER, PREFIX = NAME.replace("-", "_"), NAME.upper().replace("-", "_")


def as_run(block: str) -> str:
    """The block with the documented name and port replaced by the ones this run uses (usually the same)."""
    for old, new in ((DOC_NAME, NAME), (DOC_NAME.replace("-", "_"), UNDER)):
        block = block.replace(old, new)
    return re.sub(rf"\b{DOC_PORT}\b", str(PORT), block)


def blocks_with(marker: str) -> list[str]:
    found = [as_run(b) for b in BLOCKS if marker in b]
    assert found, f"the '{SECTION}' section has no command block with {marker!r}"
    return found


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    copy = tmp_path_factory.mktemp("scaffold") / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORES)
    copy_venv(copy)
    return copy


def copy_venv(copy: Path) -> None:
    """A virtual environment of the copy's own, as a fresh clone would have: the copy installed in place
    (so its packages, not the real repository's, are imported), with the already installed dependencies
    borrowed from the real one to save the download."""
    venv = copy / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    (borrowed,) = VENV.glob("lib/python*/site-packages")
    (site / "_borrowed_dependencies.pth").write_text(f"{borrowed}\n")
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-e",
            str(copy),
        ],
        check=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def env(repo):
    clean = {k: v for k, v in os.environ.items() if not ENV_DROPS.match(k)}
    return {**clean, "VAR_DIR": str(repo / "var"), "RATE_LIMIT": "off", "SCHEMATHESIS_EXAMPLES": "20"}


def sh(command: str, repo: Path, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and ".venv" not in p.parts and "var" not in p.parts and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def scaffolded(repo, env):
    before = snapshot(repo)
    done = sh(as_run(SCAFFOLD), repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return repo, before


# --- the documented steps ---------------------------------------------------------------------


def test_every_command_block_of_the_section_is_one_this_test_runs():
    known = (
        "make new-agent ",
        "tests/test_consistency.py",
        "tests/test_contracts.py",
        "agentkit.run up --only",
        "curl ",
        "sales_agent.tools.",
        "make contracts-check",
    )
    assert BLOCKS and all(any(k in b for k in known) for b in BLOCKS), BLOCKS


def test_the_scaffold_writes_the_agent_everywhere_it_must_be_named(scaffolded):
    repo, before = scaffolded
    created = set(snapshot(repo)) - set(before)
    pkg = f"{NAME}-agent/{UNDER}_agent"
    assert {
        f"{pkg}/__init__.py",
        f"{pkg}/app.py",
        f"{pkg}/domain.py",
        f"{pkg}/storage.py",
        f"{NAME}-agent/tests/test_{UNDER}_rules.py",
        f"contracts/{NAME}.json",
        f"contracts/released/{NAME}.json",
        f"sales-agent/sales_agent/tools/{UNDER}.py",
    } <= created
    assert any(p.startswith(f"{pkg}/seed/") and p.endswith(".json") for p in created)
    assert (repo / "contracts" / "released" / f"{NAME}.json").read_text() == (
        repo / "contracts" / f"{NAME}.json"
    ).read_text()
    toml = (repo / "agents.toml").read_text()
    assert toml.index(f"[agents.{NAME}]") < toml.index("# Not an agent with a contract")  # comments kept
    assert "x-agent: &agent" in (repo / "docker-compose.yml").read_text()
    assert f"CREATE DATABASE {UNDER};" in (repo / "docker" / "postgres-init.sql").read_text()


def test_the_consistency_check_passes_on_the_copy(scaffolded, env):
    repo, _ = scaffolded
    for block in blocks_with("tests/test_consistency.py"):
        done = sh(block, repo, env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert re.search(r"\d+ passed", done.stdout), done.stdout


def test_the_generic_suites_and_its_own_tests_pass_untouched(scaffolded, env):
    repo, _ = scaffolded
    (block,) = blocks_with("tests/test_contracts.py")
    assert f"-k {NAME}" in block and f"{NAME}-agent/tests" in block and "tests/test_schemathesis.py" in block
    done = sh(block, repo, env, timeout=180)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", done.stdout).group(1))
    assert passed >= 10 and "no tests ran" not in done.stdout, done.stdout[-2000:]


def test_it_runs_under_gunicorn_answers_its_example_and_the_sales_tool_calls_it(scaffolded, env, tmp_path):
    repo, _ = scaffolded
    (run_block,) = blocks_with("agentkit.run up --only")
    (curl_block,) = blocks_with("curl ")
    (tool_block,) = blocks_with("sales_agent.tools.")
    port = free_port()
    run_env = {**env, f"{PREFIX}_PORT": str(port), f"{PREFIX}_DATABASE_URL": f"sqlite:///{tmp_path / 'agent.db'}"}
    runner = Runner(["bash", "-c", run_block], run_env, cwd=repo)
    try:
        seen = wait_for_line(runner, "all agents healthy")
        assert f"{NAME}:{port}" in seen[-1]
        contract = json.loads((repo / "contracts" / f"{NAME}.json").read_text())
        ((op_id, op),) = contract["operations"].items()
        example = op["examples"][0]

        curl = sh(curl_block.replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{port}"), repo, env, timeout=30)
        assert curl.returncode == 0, curl.stderr
        assert json.loads(curl.stdout) == example["response"]["body"]

        tool = sh(tool_block, repo, {**env, f"{PREFIX}_AGENT_URL": f"http://127.0.0.1:{port}"}, timeout=60)
        assert tool.returncode == 0, tool.stdout + tool.stderr
        answer = json.loads(tool.stdout.strip().splitlines()[-1])
        body = example["response"]["body"]
        assert (answer["itemId"], answer["name"], answer["price"]) == (body["itemId"], body["name"], body["price"])

        unknown = sh(
            tool_block.replace("ITEM-001", "ITEM-999"),
            repo,
            {**env, f"{PREFIX}_AGENT_URL": f"http://127.0.0.1:{port}"},
            timeout=60,
        )
        error = json.loads(unknown.stdout.strip().splitlines()[-1])["error"]
        assert unknown.returncode == 1 and (error["agent"], error["code"]) == (NAME, "not_found"), unknown.stdout

        # The chat uses it: a chat turn whose model picks the new tool (as an LLM would, from its description)
        # runs it through the sales agent's graph against the running agent.
        chat = subprocess.run(
            [str(repo / ".venv" / "bin" / "python"), "-c", CHAT_TURN.format(module=UNDER)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **env,
                "VAR_DIR": str(tmp_path),
                f"{PREFIX}_AGENT_URL": f"http://127.0.0.1:{port}",
            },
        )
        assert chat.returncode == 0, chat.stdout + chat.stderr
        turn = json.loads(chat.stdout.strip().splitlines()[-1])
        assert [(c["agent"], c["operation"], c["ok"]) for c in turn["calls"]] == [(NAME, op_id, True)]
        assert body["name"] in turn["reply"]

        # Offline, with no LLM: the skill the scaffold wrote understands a shopper's question about an item
        # and the offline model calls the new tool, with no edit anywhere else.
        offline = subprocess.run(
            [str(repo / ".venv" / "bin" / "python"), "-c", OFFLINE_TURN.format(name=NAME)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "VAR_DIR": str(tmp_path), f"{PREFIX}_AGENT_URL": f"http://127.0.0.1:{port}"},
        )
        assert offline.returncode == 0, offline.stdout + offline.stderr
        turn = json.loads(offline.stdout.strip().splitlines()[-1])
        assert [(c["agent"], c["operation"], c["ok"]) for c in turn["calls"]] == [(NAME, op_id, True)], turn
        assert body["name"] in turn["reply"]
    finally:
        runner.stop()


CHAT_TURN = """
import json, pathlib, tempfile
from sales_agent.tools import registry, {module} as new_agent
from sales_agent.testing import ScriptedChatModel, call, session_for_tests
tool = registry.declared_in(new_agent)[0].name
model = ScriptedChatModel(rules=[(r"ITEM-[0-9]{{3}}", [[call(tool, item_id="ITEM-001")]])])
session = session_for_tests(pathlib.Path(tempfile.mkdtemp()), model)
result = session.send("U1001", "what is ITEM-001?", channel="test")
print(json.dumps({{"reply": result.reply, "calls": result.tool_calls}}))
"""


OFFLINE_TURN = """
import json, pathlib, tempfile
from sales_agent.offline.model import OfflineChatModel
from sales_agent.testing import session_for_tests
session = session_for_tests(pathlib.Path(tempfile.mkdtemp()), OfflineChatModel())
result = session.send("U1001", "how much is the {name} item ITEM-001?", channel="test")
print(json.dumps({{"reply": result.reply, "calls": result.tool_calls}}))
"""


def test_contracts_check_passes_with_the_new_contract_released(scaffolded, env):
    repo, _ = scaffolded
    (block,) = blocks_with("make contracts-check")
    done = sh(block, repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert NAME in done.stdout


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,words",
    [
        (lambda: [NAME, str(free_port())], "is taken"),
        (lambda: ["brand-new", "8000"], "port 8000 is taken"),
        (lambda: ["brand-new", str(PORT)], f"port {PORT} is taken"),
        (lambda: ["Bad_Name", str(free_port())], "invalid name"),
        (lambda: ["returns-agent", str(free_port())], "invalid name"),
        (lambda: ["brand-new", "80"], "invalid port"),
    ],
    ids=["taken-name", "taken-port-sales", "taken-port-new-agent", "bad-name", "name-ending-agent", "low-port"],
)
def test_refusals_exit_2_with_one_line_and_write_nothing(scaffolded, env, args, words):
    repo, _ = scaffolded
    before = snapshot(repo)
    done = sh(" ".join([".venv/bin/python", "-m", "agentkit.scaffold", *args()]), repo, env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert snapshot(repo) == before


def test_make_new_agent_refuses_a_taken_name_too(scaffolded, env):
    repo, _ = scaffolded
    before = snapshot(repo)
    done = sh(as_run(SCAFFOLD), repo, env)
    assert done.returncode != 0 and f"name '{NAME}' is taken" in done.stderr, done.stdout + done.stderr
    assert snapshot(repo) == before
