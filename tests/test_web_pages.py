"""The chat page's routes in process: the page and its files are open and served under a strict
Content-Security-Policy with no inline script or style, the scripts never parse text as HTML, and the
development login ("continue as" a seeded shopper) is a 404 unless SALES_WEB_DEV_LOGIN is on."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from sales_agent.entrypoints.app import create_app
from sales_agent.testing import session_for_tests
from sales_agent.web.pages import STATIC
from support import WiredSystem, fresh_database_url


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    system = WiredSystem(tmp, tag="pages")
    yield tmp
    system.close()


def app_for(tmp, **settings):
    session = session_for_tests(
        tmp, database_url=fresh_database_url("sales", tmp, "pages"), settings_overrides=settings
    )
    app = create_app(session)
    app.testing = True
    return app, session


@pytest.fixture(scope="module")
def client(wired):
    app, session = app_for(wired)
    yield app.test_client()
    session.close()


FILES = [
    ("/", "text/html"),
    ("/web/app.js", "text/javascript"),
    ("/web/format.js", "text/javascript"),
    ("/web/app.css", "text/css"),
    ("/favicon.ico", "image/svg+xml"),
]


@pytest.mark.parametrize("path,kind", FILES)
def test_the_page_and_its_files_are_open_under_a_strict_policy(client, path, kind):
    answer = client.get(path)  # no Authorization header
    assert answer.status_code == 200 and answer.mimetype == kind
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'; ")
    assert "unsafe" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-cache"


def test_a_path_out_of_the_static_folder_is_a_404(client):
    for path in ("/web/../pages.py", "/web/%2e%2e/pages.py", "/web/nothing.js"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found", path


class Markup(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag in ("script", "style")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text += data.strip()


def test_the_page_has_no_inline_script_or_style_and_labels_its_controls():
    markup = Markup()
    markup.feed((STATIC / "index.html").read_text())
    tags = markup.tags
    assert markup.script_text == ""
    assert [a["src"] for t, a in tags if t == "script"] == ["/web/app.js"]
    assert not [t for t, _ in tags if t == "style"]
    assert not [(t, name) for t, a in tags for name in a if name.startswith("on") or name == "style"]
    labelled = {a["for"] for t, a in tags if t == "label"}
    controls = {a["id"] for t, a in tags if t in ("input", "select", "textarea")}
    assert controls == labelled == {"message", "dev-shopper"}
    log = next(a for t, a in tags if a.get("id") == "messages")
    assert log["role"] == "log" and log["aria-live"] == "polite"


def test_the_scripts_never_parse_text_as_html():
    for name in ("app.js", "format.js"):
        source = (STATIC / name).read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", source)


def test_the_development_login_is_a_404_when_off(client):
    assert client.get("/page/config").get_json() == {"devLogin": False}
    assert client.get("/dev/shoppers").status_code == 404
    answer = client.post("/dev/sessions", json={"userId": "U1002"})
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_the_development_login_lists_the_seeded_shoppers_by_name(wired):
    app, session = app_for(wired, web_dev_login=True)
    try:
        client = app.test_client()
        assert client.get("/page/config").get_json() == {"devLogin": True}
        answer = client.get("/dev/shoppers")
        assert answer.status_code == 200
        shoppers = answer.get_json()["shoppers"]
        assert [s["userId"] for s in shoppers] == [f"U{n}" for n in range(1001, 1001 + len(shoppers))]
        assert len(shoppers) >= 8 and shoppers[0]["name"] == "Priya Sharma" and shoppers[0]["city"] == "Mumbai"
        refused = client.post("/dev/sessions", json={"userId": "a b"})
        assert refused.status_code == 400 and refused.get_json()["error"]["details"][0]["field"] == "userId"
        unknown = client.post("/dev/sessions", json={"userId": "U9999"})
        assert unknown.status_code == 404
    finally:
        session.close()


def test_the_development_login_mints_a_session_for_that_shopper_only(wired):
    app, session = app_for(wired, web_dev_login=True)
    try:
        client = app.test_client()
        answer = client.post("/dev/sessions", json={"userId": "U1002"})
        assert answer.status_code == 201, answer.get_json()
        minted = answer.get_json()
        assert minted["userId"] == "U1002" and minted["name"] and minted["expiresAt"].endswith("Z")
        bearer = {"Authorization": f"Bearer {minted['token']}"}
        state = client.get("/chat/state", headers=bearer)
        assert state.status_code == 200 and state.get_json()["userId"] == "U1002"
        assert client.get("/chat/state?userId=U1003", headers=bearer).status_code == 403
    finally:
        session.close()
