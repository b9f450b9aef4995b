"""The catalog's pictures: every product and colour has one, served open at /images/<file> as SVG with a cache
header, nothing outside the folder is reachable, every answer that shows a product carries its image fields,
and the committed files are exactly what scripts/make_images.py draws."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import responses

from agentkit import AgentClient
from recommendation_agent.images import IMAGES_DIR, image_file
from recommendation_agent.storage import SEED_DIR
from support import ROOT, route_to_app

CATALOG = json.loads((SEED_DIR / "catalog.json").read_text())["products"]
PICTURES = [(p, color) for p in CATALOG for color in p["colors"]]
SVG = "{http://www.w3.org/2000/svg}"
INVENTORY_URL = "http://inventory.agent.test"


@pytest.fixture
def rec(make_app):
    """The recommendation agent with the real inventory agent behind it (recommendations check stock)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_to_app(rsps, INVENTORY_URL, make_app("inventory"))
        inventory = AgentClient("inventory", base_url=INVENTORY_URL, retries=0)
        yield make_app("recommendation", clients={"inventory": inventory})


@pytest.fixture
def anonymous(rec):
    """A client with no token at all: the pictures are public."""
    return rec.test_client(caller=None)


def test_every_product_and_colour_has_a_picture_served_open_as_svg(anonymous):
    assert len(PICTURES) == 179
    for product, color in PICTURES:
        name = image_file(product["productId"], color)
        reply = anonymous.get(f"/images/{name}")
        assert reply.status_code == 200, (name, reply.get_data(as_text=True)[:200])
        assert reply.mimetype == "image/svg+xml"
        assert reply.headers["Cache-Control"] == "public, max-age=604800"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Content-Security-Policy"] == "default-src 'none'"
        body = reply.get_data()
        assert body == (IMAGES_DIR / name).read_bytes()
        assert 200 < len(body) < 4096, (name, len(body))
        svg = ET.fromstring(body)
        assert svg.tag == f"{SVG}svg" and svg.get("viewBox") == "0 0 200 200"
        assert svg.find(f"{SVG}title").text == f"{product['name']} in {color}"
        assert svg.find(f".//{SVG}script") is None


def test_a_picture_revalidates_with_its_etag(anonymous):
    first = anonymous.get("/images/P1001-black.svg")
    again = anonymous.get("/images/P1001-black.svg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    head = anonymous.head("/images/P1001-black.svg")
    assert head.status_code == 200 and head.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    "path",
    [
        "/images/../app.py",
        "/images/%2e%2e/app.py",
        "/images/..%2fapp.py",
        "/images/../../../recommendation-agent/recommendation_agent/app.py",
        "/images/P1001-pink.svg",  # the jacket does not come in pink
        "/images/P1001-black.svg.bak",
    ],
)
def test_nothing_but_the_pictures_is_reachable(anonymous, path):
    reply = anonymous.get(path)
    assert reply.status_code == 404, (path, reply.status_code)
    assert reply.get_json()["error"]["code"] == "not_found"
    assert "create_app" not in reply.get_data(as_text=True)


def test_an_absolute_path_is_never_served(rec, anonymous):
    """The router merges a doubled slash with a redirect before any route runs, so the open route is not
    reached: no token is a 401, and with one the redirect leads to a name in the folder, which is a 404."""
    assert anonymous.get("/images//etc/passwd").status_code == 401
    reply = rec.test_client().get("/images//etc/passwd", follow_redirects=True)
    assert reply.status_code == 404 and "root:" not in reply.get_data(as_text=True)


def test_the_open_pictures_open_nothing_else(rec, anonymous):
    """Only GET on the picture route is open: an operation still needs a token, and so do a path near the
    pictures and another method on them."""
    assert anonymous.post("/search-products", json={}).status_code == 401
    assert anonymous.get("/images/").status_code == 401
    assert anonymous.get("/images").status_code == 401
    assert anonymous.post("/images/P1001-black.svg", json={}).status_code == 401
    assert rec.test_client().post("/images/P1001-black.svg", json={}).status_code == 405


def assert_image_fields(product: dict, client) -> None:
    pictures = product["images"]
    assert list(pictures) == product["colors"], product["productId"]
    assert product["image"] == pictures[product["colors"][0]]
    for color, url in pictures.items():
        assert url == f"/images/{image_file(product['productId'], color)}"
        assert client.get(url).status_code == 200, url


def test_search_and_product_answers_carry_the_image_fields(rec, anonymous):
    client = rec.test_client()
    seen = set()
    for sort in ("price_asc", "price_desc"):
        reply = client.post("/search-products", json={"limit": 50, "sort": sort})
        assert reply.status_code == 200
        for product in reply.get_json()["products"]:
            assert_image_fields(product, anonymous)
            seen.add(product["productId"])
    assert len(seen) == len(CATALOG)

    reply = client.post("/get-product", json={"productId": "P1001"})
    assert reply.status_code == 200
    detail = reply.get_json()
    assert detail["image"] == "/images/P1001-black.svg"
    assert detail["images"] == {
        "Black": "/images/P1001-black.svg",
        "Navy": "/images/P1001-navy.svg",
        "Olive": "/images/P1001-olive.svg",
    }


def test_recommendations_and_alternatives_carry_the_image_fields(rec, anonymous):
    client = rec.test_client()
    reply = client.post("/get-recommendations", json={"context": "general", "count": 5})
    assert reply.status_code == 200
    picks = reply.get_json()["products"]
    assert picks
    for product in picks:
        assert_image_fields(product, anonymous)

    reply = client.post("/get-alternatives", json={"productId": "P1001", "size": "M", "count": 3})
    assert reply.status_code == 200
    alternatives = reply.get_json()["alternatives"]
    assert alternatives
    for product in alternatives:
        assert_image_fields(product, anonymous)


def make_images(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/make_images.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_committed_pictures_are_what_the_script_draws():
    result = make_images("--check")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in IMAGES_DIR.iterdir()) == sorted(image_file(p["productId"], c) for p, c in PICTURES)


def test_the_check_names_a_redrawn_a_missing_and_an_extra_picture(tmp_path):
    copy = tmp_path / "images"
    shutil.copytree(IMAGES_DIR, copy)
    (copy / "P1001-black.svg").write_text((copy / "P1001-navy.svg").read_text())
    (copy / "P1002-olive.svg").unlink()
    (copy / "P9999-black.svg").write_text("<svg/>")
    result = make_images("--check", "--dir", str(copy))
    assert result.returncode == 1
    assert re.findall(r"^(missing|extra|different) (\S+)$", result.stderr, re.M) == [
        ("missing", "P1002-olive.svg"),
        ("extra", "P9999-black.svg"),
        ("different", "P1001-black.svg"),
    ]
    rewritten = make_images("--dir", str(copy))
    assert rewritten.returncode == 0 and "wrote 179 pictures" in rewritten.stdout
    assert make_images("--check", "--dir", str(copy)).returncode == 0
    assert not (copy / "P9999-black.svg").exists()


def test_the_drawing_follows_the_garment_and_the_colour():
    """A saree and a pair of jeans are drawn differently; two colours of one product differ only in colour."""

    def paths(name: str) -> list[str]:
        return [p.get("d") for p in ET.fromstring((IMAGES_DIR / name).read_bytes()).iter(f"{SVG}path")]

    def fill(name: str) -> str:
        return ET.fromstring((IMAGES_DIR / name).read_bytes()).find(f"{SVG}g").get("fill")

    by_sub = {p["subcategory"]: p for p in CATALOG}
    saree = image_file(by_sub["saree"]["productId"], by_sub["saree"]["colors"][0])
    jeans = image_file(by_sub["jeans"]["productId"], by_sub["jeans"]["colors"][0])
    assert paths(saree) != paths(jeans)
    assert paths("P1001-black.svg") == paths("P1001-olive.svg")
    assert fill("P1001-black.svg") != fill("P1001-olive.svg")
