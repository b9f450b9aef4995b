"""Draw the catalog's pictures: one small SVG per product and colour, a garment silhouette chosen by the
product's subcategory (or category) and filled with the colour, the product's name as its <title>.

python scripts/make_images.py            rewrite recommendation-agent/recommendation_agent/static/images/
python scripts/make_images.py --check    exit 1 naming each picture missing, different or extra (a test runs this)

The output depends only on the seed catalog and this file, so the committed pictures cannot drift from it.
A new colour or a new kind of garment in the catalog stops the script until it has a fill or a shape here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from recommendation_agent.images import IMAGES_DIR, image_file
from recommendation_agent.storage import SEED_DIR

FILLS = {
    "Beige": "#d9c7a5",
    "Black": "#1c1c1e",
    "Blue": "#2f6fd0",
    "Brown": "#6d4c41",
    "Camel": "#c19a6b",
    "Charcoal": "#36454f",
    "Cream": "#f5ecd0",
    "Emerald": "#0f8a5f",
    "Gold": "#c9a227",
    "Green": "#2e7d32",
    "Grey": "#8a8d91",
    "Indigo": "#3f3d9b",
    "Ivory": "#fffbea",
    "Khaki": "#bdb07a",
    "Magenta": "#c2185b",
    "Maroon": "#7a1f2b",
    "Mustard": "#d4a017",
    "Navy": "#1f2a5a",
    "Olive": "#6b7a3a",
    "Orange": "#ef7d1a",
    "Peach": "#f7b99a",
    "Pink": "#f2a7c3",
    "Red": "#c62828",
    "Rust": "#b7472a",
    "Tan": "#c8a27a",
    "Teal": "#128080",
    "White": "#fafafa",
    "Yellow": "#f4d03f",
}

# Each shape is drawn on a 200 x 200 canvas: filled paths (the garment) and outline-only paths (seams, straps).
SHAPES: dict[str, dict[str, list[str]]] = {
    "jacket": {
        "fill": [
            "M70 30 L100 42 L130 30 L165 50 L182 142 L160 147 L150 88 L150 172 L50 172 L50 88 L40 147 L18 142 L35 50 Z"
        ],
        "line": ["M100 42 V172", "M70 30 L88 62 L100 42 L112 62 L130 30"],
    },
    "coat": {
        "fill": [
            "M70 24 L100 38 L130 24 L165 44 L182 150 L160 155 L150 84 L154 188 L46 188 L50 84 L40 155 L18 150 L35 44 Z"
        ],
        "line": ["M100 38 V188", "M70 24 L86 70 L100 38 L114 70 L130 24", "M50 120 H150"],
    },
    "shirt": {
        "fill": [
            "M72 30 L100 40 L128 30 L163 48 L178 140 L158 144 L148 86 L148 172 L52 172 L52 86 L42 144 L22 140 L37 48 Z"
        ],
        "line": ["M72 30 L92 52 L100 40 L108 52 L128 30", "M100 52 V172"],
    },
    "tee": {
        "fill": ["M70 35 Q100 52 130 35 L170 56 L158 88 L145 80 L145 172 L55 172 L55 80 L42 88 L30 56 Z"],
        "line": ["M70 35 Q100 60 130 35"],
    },
    "sweater": {
        "fill": [
            "M72 32 Q100 48 128 32 L164 50 L180 150 L160 154 L148 88 L148 165 L52 165 L52 88 L40 154 L20 150 L36 50 Z"
        ],
        "line": ["M72 32 Q100 56 128 32", "M52 158 H148", "M40 146 L20 142", "M160 146 L180 142"],
    },
    "tank": {
        "fill": ["M72 30 L84 30 Q100 70 116 30 L128 30 Q130 70 150 80 L145 150 L55 150 L50 80 Q70 70 72 30 Z"],
        "line": ["M58 122 H142"],
    },
    "kurta": {
        "fill": [
            "M75 25 Q100 38 125 25 L160 42 L176 122 L158 126 L148 72 L152 186 L48 186 L52 72 L42 126 L24 122 L40 42 Z"
        ],
        "line": ["M100 33 V76", "M48 176 H152"],
    },
    "dress": {
        "fill": ["M80 24 L90 24 Q100 44 110 24 L120 24 L126 72 L162 182 L38 182 L74 72 Z"],
        "line": ["M74 72 H126"],
    },
    "saree": {
        "fill": ["M72 28 L128 28 L134 84 L156 186 L44 186 L66 84 Z"],
        "line": ["M72 28 L150 150", "M48 172 H152", "M66 84 H134"],
    },
    "trousers": {
        "fill": ["M58 20 L142 20 L152 186 L110 186 L100 72 L90 186 L48 186 Z"],
        "line": ["M58 34 H142", "M100 34 V72"],
    },
    "shorts": {
        "fill": ["M55 44 L145 44 L156 132 L108 138 L100 88 L92 138 L44 132 Z"],
        "line": ["M55 58 H145", "M100 58 V88"],
    },
    "skirt": {
        "fill": ["M66 40 L134 40 L166 172 L34 172 Z"],
        "line": ["M66 54 H134"],
    },
    "shoe": {
        "fill": [
            "M24 140 Q28 100 62 98 L96 102 Q122 118 162 122 Q182 128 180 146 L24 146 Z",
            "M22 146 H182 V158 H22 Z",
        ],
        "line": ["M62 98 Q72 120 96 102"],
    },
    "boot": {
        "fill": ["M58 28 L106 28 L108 110 Q152 114 172 130 Q180 144 172 156 L54 156 Z", "M52 156 H176 V168 H52 Z"],
        "line": ["M58 44 H106"],
    },
    "sandal": {
        "fill": ["M40 150 Q34 120 70 118 L158 122 Q186 128 182 146 Q178 162 150 160 L62 162 Q42 162 40 150 Z"],
        "line": ["M80 120 Q100 92 128 121", "M96 110 L112 122"],
    },
    "bag": {
        "fill": ["M44 82 L156 82 L166 180 L34 180 Z"],
        "line": ["M70 82 Q70 34 100 34 Q130 34 130 82"],
    },
    "pouch": {
        "fill": ["M64 76 Q30 182 100 182 Q170 182 136 76 Q100 86 64 76 Z"],
        "line": ["M64 76 Q100 64 136 76", "M100 80 Q88 40 72 30", "M100 80 Q112 40 128 30"],
    },
    "backpack": {
        "fill": ["M56 50 Q56 32 78 32 L122 32 Q144 32 144 50 L148 176 L52 176 Z", "M70 110 H130 V160 H70 Z"],
        "line": ["M84 32 Q84 16 100 16 Q116 16 116 32", "M70 124 H130"],
    },
    "scarf": {
        "fill": ["M56 24 L144 24 L144 58 Q100 82 56 58 Z", "M72 60 L62 178 L92 178 L98 70 Z"],
        "line": ["M66 178 V190", "M76 178 V190", "M86 178 V190"],
    },
    "belt": {
        "fill": ["M16 86 H184 V114 H16 Z"],
        "line": ["M116 80 H150 V120 H116 Z", "M132 100 H150"],
    },
    "sunglasses": {
        "fill": ["M24 86 H90 Q92 130 58 130 Q26 130 24 86 Z", "M110 86 H176 Q174 130 142 130 Q108 130 110 86 Z"],
        "line": ["M90 92 Q100 82 110 92", "M24 88 L8 80", "M176 88 L192 80"],
    },
    "cap": {
        "fill": ["M40 122 Q40 52 100 52 Q160 52 160 122 Z", "M40 122 Q110 134 186 124 L186 134 Q110 150 40 132 Z"],
        "line": ["M100 52 V122"],
    },
    "beanie": {
        "fill": [
            "M46 140 Q46 54 100 54 Q154 54 154 140 Z",
            "M40 126 H160 V156 H40 Z",
            "M88 40 A12 12 0 1 0 112 40 A12 12 0 1 0 88 40 Z",
        ],
        "line": ["M70 126 V156", "M100 126 V156", "M130 126 V156"],
    },
}

# By subcategory first; a subcategory not named here takes its category's shape.
BY_SUBCATEGORY = {
    "overcoat": "coat",
    "parka": "coat",
    "trench coat": "coat",
    "shacket": "shirt",
    "bandhgala": "jacket",
    "linen shirt": "shirt",
    "formal shirt": "shirt",
    "blouse": "shirt",
    "shirt dress": "dress",
    "t-shirt": "tee",
    "graphic t-shirt": "tee",
    "running tee": "tee",
    "running top": "tee",
    "sweater": "sweater",
    "sports bra": "tank",
    "kurta": "kurta",
    "kurti": "kurta",
    "kurta set": "kurta",
    "saree": "saree",
    "shorts": "shorts",
    "skirt": "skirt",
    "leggings": "trousers",
    "track pants": "trousers",
    "chelsea boots": "boot",
    "ankle boots": "boot",
    "kolhapuri": "sandal",
    "slides": "sandal",
    "tote bag": "bag",
    "potli bag": "pouch",
    "backpack": "backpack",
    "scarf": "scarf",
    "belt": "belt",
    "sunglasses": "sunglasses",
    "cap": "cap",
    "beanie": "beanie",
}
BY_CATEGORY = {"jackets": "jacket", "tops": "tee", "bottoms": "trousers", "dresses": "dress", "footwear": "shoe"}


def shape_for(product: dict) -> str:
    shape = BY_SUBCATEGORY.get(product["subcategory"]) or BY_CATEGORY.get(product["category"])
    if shape is None:
        raise SystemExit(f"{product['productId']}: no shape for {product['category']} / {product['subcategory']}")
    return shape


def outline_for(fill: str) -> str:
    """A dark outline on a light fill, a light one on a dark fill, so every garment's edge shows."""
    red, green, blue = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#9ca3af" if 0.299 * red + 0.587 * green + 0.114 * blue < 80 else "#1f2937"


def render(product: dict, color: str) -> str:
    if color not in FILLS:
        raise SystemExit(f"{product['productId']}: no fill for the colour {color!r}; add it to FILLS")
    fill, shape = FILLS[color], SHAPES[shape_for(product)]
    outline = outline_for(fill)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" height="200" role="img">',
        f"<title>{escape(product['name'])} in {escape(color)}</title>",
        '<rect width="200" height="200" rx="16" fill="#f3f4f6"/>',
        f'<g fill="{fill}" stroke="{outline}" stroke-width="3" stroke-linejoin="round" stroke-linecap="round">',
        *(f'<path d="{d}"/>' for d in shape["fill"]),
        *(f'<path d="{d}" fill="none"/>' for d in shape["line"]),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def pictures() -> dict[str, str]:
    """Every picture the seed catalog needs: file name -> SVG text."""
    catalog = json.loads((SEED_DIR / "catalog.json").read_text(encoding="utf-8"))["products"]
    return {image_file(p["productId"], color): render(p, color) for p in catalog for color in p["colors"]}


def problems(directory: Path) -> list[str]:
    wanted = pictures()
    present = {path.name for path in directory.glob("*.svg")} if directory.is_dir() else set()
    found = [f"missing {name}" for name in sorted(set(wanted) - present)]
    found += [f"extra {name}" for name in sorted(present - set(wanted))]
    found += [
        f"different {name}"
        for name in sorted(set(wanted) & present)
        if (directory / name).read_text(encoding="utf-8") != wanted[name]
    ]
    return found


def write(directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = pictures()
    for stale in directory.glob("*.svg"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (directory / name).write_text(text, encoding="utf-8", newline="\n")
    return len(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the pictures are out of date")
    parser.add_argument("--dir", type=Path, default=IMAGES_DIR, help="where the pictures are (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(args.dir)
        for line in found:
            print(line, file=sys.stderr)
        if found:
            print(f"{len(found)} pictures out of date: run python scripts/make_images.py", file=sys.stderr)
        return 1 if found else 0
    print(f"wrote {write(args.dir)} pictures to {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
