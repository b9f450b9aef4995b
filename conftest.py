"""Fixtures every test in the repository can use; the helpers behind them are in tests/support.py.

Browser tests take pytest-playwright's ``page`` (on Debian's chromium, see ``browser_type_launch_args``) and
``screenshot`` to keep what the page showed under var/screenshots/."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("RATE_LIMIT", "off")
os.environ.setdefault("CONTRACT_ENFORCEMENT", "error")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# One service secret for the session: the in-process apps, the clients and every runner a test starts share it.
# The default without one (a secret made under var/) has tests of its own (tests/test_auth.py).
os.environ.setdefault("AGENT_API_TOKEN", secrets.token_urlsafe(32))
# And one shopper-session secret: tokens minted in a test work against any sales service a test starts.
# The default without one (a secret made under var/) is tested in sales-agent/tests/test_sales_auth.py.
os.environ.setdefault("SALES_SESSION_SECRET", secrets.token_urlsafe(32))

from agentkit import clock  # noqa: E402
from agentkit.app import AgentApp  # noqa: E402
from agentkit.registry import agents, import_app_factory  # noqa: E402
from support import CallerClient, WiredSystem, drop_test_databases, fresh_database_url  # noqa: E402

# Every agent app a test builds, however it builds it, authenticates as a caller its operations allow.
AgentApp.test_client_class = CallerClient


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases():
    yield
    drop_test_databases()


@pytest.fixture
def make_app(tmp_path, monkeypatch):
    """``make_app("inventory", **kwargs)``: that agent's app on a fresh, seeded database."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    built = []

    def make(name: str, tag: str = "", **kwargs):
        app = import_app_factory(name)(database_url=fresh_database_url(name, tmp_path, tag), **kwargs)
        app.testing = True
        built.append(app)
        return app

    yield make
    for app in built:
        app.db.dispose()


@pytest.fixture
def system(tmp_path):
    """Every agent in process (``support.WiredSystem``): their clients reach each other's Flask apps."""
    wired = WiredSystem(tmp_path)
    yield wired
    wired.close()


@pytest.fixture
def frozen_clock(request, monkeypatch):
    """Every agent reads the time through agentkit.clock; pin it at the test module's ``NOW`` so dates are exact.
    ``frozen_clock["now"] = ...`` moves it. A module pins it for all its tests with
    ``pytestmark = pytest.mark.usefixtures("frozen_clock")``."""
    state = {"now": request.module.NOW}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


@pytest.fixture
def agent_names():
    return list(agents())


def load_json(path: Path):
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_name):
    """pytest-playwright's ``page`` (and ``browser``, ``context``) on Debian's chromium, headless unless
    ``--headed``: Playwright never downloads a browser here. Without chromium a browser test is skipped on a
    laptop and fails in CI (``CI`` set), where .ci/run installs it."""
    if browser_name != "chromium":
        raise pytest.UsageError(f"the browser tests run on Debian's chromium, not {browser_name}")
    chromium = shutil.which("chromium")
    if chromium is None:
        missing = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI runs the browser tests, and .ci/run should have installed it", pytrace=False)
        pytest.skip(missing)
    return {"headless": True, **browser_type_launch_args, "executable_path": chromium}


SCREENSHOTS = Path(__file__).resolve().parent / "var" / "screenshots"


@pytest.fixture
def screenshot(page, request):
    """``screenshot("cart")`` saves the page as var/screenshots/<test>/cart.png and returns the path."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(name: str, **kwargs) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take
