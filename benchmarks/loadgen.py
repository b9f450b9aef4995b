"""A small keep-alive HTTP/1.1 load generator (asyncio, raw sockets) so the client costs little CPU."""

from __future__ import annotations

import asyncio
import json
import time


async def _worker(host: str, port: int, request: bytes, stop_at: float, counts: list[int], statuses: dict) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts[0] += 1
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def measure(
    port: int, path: str, body: dict, seconds: float, connections: int = 16, headers: dict[str, str] | None = None
) -> tuple[float, dict]:
    payload = json.dumps(body).encode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + payload
    counts, statuses = [0], {}

    async def run():
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(
            *(_worker("127.0.0.1", port, request, stop_at, counts, statuses) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(run())
    return counts[0] / (time.perf_counter() - started), statuses
