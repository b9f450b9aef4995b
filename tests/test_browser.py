"""The browser tests' wiring: pytest-playwright drives Debian's chromium, headless, against an agent started
for real on loopback. Chromium draws the catalog's pictures as the recommendation agent serves them (each one
decoded at 200 x 200, the jacket in its colour), and gunicorn itself refuses a path out of the folder."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from recommendation_agent.images import image_file
from recommendation_agent.storage import SEED_DIR
from support import served

CATALOG = json.loads((SEED_DIR / "catalog.json").read_text())["products"]
URLS = [f"/images/{image_file(p['productId'], color)}" for p in CATALOG for color in p["colors"]]

# Every picture decoded, and the colour of one pixel inside the garment (the jacket's body, left of the zip).
DRAW = """async (urls) => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 200;
  const pen = canvas.getContext("2d", {willReadFrequently: true});
  const drawn = {};
  for (const url of urls) {
    const img = new Image();
    img.src = url;
    await img.decode();
    pen.clearRect(0, 0, 200, 200);
    pen.drawImage(img, 0, 0);
    const pixel = Array.from(pen.getImageData(75, 120, 1, 1).data);
    drawn[url] = {width: img.naturalWidth, height: img.naturalHeight, pixel};
  }
  return drawn;
}"""


@pytest.fixture(scope="module")
def recommendation(tmp_path_factory):
    with served(tmp_path_factory.mktemp("browser"), ["recommendation"], workers=1) as urls:
        yield urls["recommendation"]


def test_chromium_draws_every_picture_the_agent_serves(page, screenshot, recommendation):
    errors = []
    page.on("console", lambda m: errors.append((m.location.get("url"), m.text)) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(("", str(error))))
    # A page of the agent's own origin, so the canvas may read the pixels back.
    page.goto(f"{recommendation}/health")
    drawn = page.evaluate(DRAW, URLS)
    assert len(drawn) == len(URLS) == 179
    assert {(d["width"], d["height"]) for d in drawn.values()} == {(200, 200)}
    assert drawn["/images/P1001-black.svg"]["pixel"] == [0x1C, 0x1C, 0x1E, 255]
    assert drawn["/images/P1001-olive.svg"]["pixel"] == [0x6B, 0x7A, 0x3A, 255]

    gallery = "".join(f'<img src="{url}" width="72" height="72" alt="">' for url in URLS)
    page.evaluate("html => { document.body.innerHTML = html; }", gallery)
    page.wait_for_function("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
    assert screenshot("gallery", full_page=True).stat().st_size > 10_000

    reply = page.goto(f"{recommendation}/images/P1001-black.svg")
    assert reply is not None and reply.status == 200 and reply.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert page.title() == "Alpine Puffer Jacket in Black"
    assert screenshot("P1001-black").stat().st_size > 1_000
    # Chromium asks every origin for /favicon.ico; an agent has none (a 401, closed by default).
    assert [e for e in errors if not e[0].endswith("/favicon.ico")] == [], errors


def test_gunicorn_serves_a_picture_and_refuses_a_path_out_of_the_folder(recommendation):
    """Raw requests, as no browser or client library would send them: the dots are not tidied away first."""
    address = urlsplit(recommendation)

    def get(path: str) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        try:
            connection.request("GET", path)
            reply = connection.getresponse()
            return reply.status, reply.getheader("Content-Type", ""), reply.read()
        finally:
            connection.close()

    status, kind, body = get("/images/P1001-black.svg")
    assert (status, kind) == (200, "image/svg+xml; charset=utf-8") and body.startswith(b"<svg ")
    for path in ("/images/../app.py", "/images/%2e%2e/app.py", "/images/..%2f..%2fstorage.py"):
        status, kind, body = get(path)
        assert status == 404 and kind == "application/json", (path, status)
        assert b"import" not in body
