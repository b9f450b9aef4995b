"""The catalog's pictures: one SVG per product and colour, committed under static/images/ by
scripts/make_images.py and served by this agent at /images/<file>, open like /health.

The file name is the one rule both sides read: the product id and the colour, lower case, letters and digits
only (P1001 in Navy Blue is /images/P1001-navyblue.svg).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

IMAGES_DIR = Path(__file__).parent / "static" / "images"
URL_PREFIX = "/images"
# A week, not a year marked immutable: a redrawn picture keeps its URL, and the ETag makes a revalidation cheap.
CACHE_SECONDS = 7 * 24 * 3600


def image_file(product_id: str, color: str) -> str:
    return f"{product_id}-{''.join(ch for ch in color.lower() if ch.isalnum())}.svg"


def image_fields(product_id: str, colors: list[str]) -> dict[str, Any]:
    """``image`` (the first colour's picture) and ``images`` (one per colour, keyed as in ``colors``).
    Every product comes in at least one colour (its variants are size and colour pairs)."""
    images = {color: f"{URL_PREFIX}/{image_file(product_id, color)}" for color in colors}
    return {"image": images[colors[0]], "images": images}
