"""POST /chat/stream through real gunicorn on loopback: the events arrive as they happen, not when the turn is
over (no buffering between the turn and the socket). In a module of its own: the in-process tests route every
HTTP call of theirs through a mock, and this one needs the real network."""

from __future__ import annotations

import time

import requests


def test_under_gunicorn_the_first_event_arrives_before_the_turn_ends(tmp_path):
    from support import served

    with served(tmp_path, ["recommendation", "sales"], workers=1) as urls:  # a search needs only the catalog
        guest = requests.post(urls["sales"] + "/sessions/guest", json={}, timeout=30)  # as the page starts
        assert guest.status_code == 201, guest.text
        arrived: list[tuple[float, str]] = []
        started = time.monotonic()
        with requests.post(
            urls["sales"] + "/chat/stream",
            json={"message": "show me winter jackets under 6000"},
            headers={"Authorization": f"Bearer {guest.json()['token']}"},
            stream=True,
            timeout=60,
        ) as response:
            assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
            assert response.headers["X-Accel-Buffering"] == "no" and "Content-Length" not in response.headers
            buffer = ""
            for piece in response.iter_content(chunk_size=None, decode_unicode=True):
                buffer += piece
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    if block.startswith("event: "):
                        arrived.append((time.monotonic() - started, block.split("\n", 1)[0][7:]))
        kinds = [k for _, k in arrived]
        assert kinds[0] == "start" and kinds[-1] == "final" and kinds.count("token") > 1
        # the first turn of a fresh worker reads the embedding model: the start is not held back for it
        first, last = arrived[0][0], arrived[-1][0]
        assert last - first > 0.05, arrived
        assert sorted(t for t, _ in arrived) == [t for t, _ in arrived]
        # the page's pictures come from the same origin, proxied from the catalog with its cache headers
        picture = requests.get(urls["sales"] + "/images/P1001-black.svg", timeout=10)
        direct = requests.get(urls["recommendation"] + "/images/P1001-black.svg", timeout=10)
        assert picture.status_code == 200 and picture.content == direct.content
        assert picture.headers["Content-Type"] == direct.headers["Content-Type"]
        assert picture.headers["ETag"] == direct.headers["ETag"]
