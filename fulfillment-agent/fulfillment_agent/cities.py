"""The cities the shop delivers to, read once from data/cities.json: the one list behind delivery options,
order addresses and the address book, with the other names (aliases) shoppers and postal addresses use."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "cities.json"


@dataclass(frozen=True)
class City:
    name: str
    state: str
    metro: bool


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@functools.cache
def _data() -> dict:
    return json.loads(DATA.read_text())


@functools.cache
def _cities() -> dict[str, City]:
    """Every name and alias, lower-cased with single spaces, to its city."""
    known: dict[str, City] = {}
    for entry in _data()["cities"]:
        city = City(entry["name"], entry["state"], entry["metro"])
        for name in [entry["name"], *entry["aliases"]]:
            if _key(name) in known:
                raise ValueError(f"{DATA}: {name!r} names two cities")
            known[_key(name)] = city
    return known


def find(text: str) -> City | None:
    """The delivered city this name or alias means (any case and spacing), or None when the shop does not
    deliver there."""
    return _cities().get(_key(text))


def names() -> list[str]:
    """The delivered cities' own names, in the data's order."""
    return list(dict.fromkeys(city.name for city in _cities().values()))


def delivery_days(*, metro: bool) -> tuple[int, int]:
    """The fewest and most days a home delivery takes to a metro city or to the others."""
    low, high = _data()["deliveryDays"]["metro" if metro else "other"]
    return low, high
