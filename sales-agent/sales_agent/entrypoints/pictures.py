"""``GET /images/<file>``: the catalog's pictures on the sales service's own origin, so the chat page needs one.

Proxied to the recommendation agent (which owns the catalog and its pictures) rather than read from its folder:
the sales service then works wherever the agent runs (another container or host), and a picture the catalog
redraws is the one shown. Streamed through, with the agent's status, content type and cache headers (a week,
with an ETag; a revalidation answers 304), so a browser asks again rarely. Open like /health (the pictures
are public); a name that is not a picture's file name (the contract's imagePath rule) is a 404 before anything
is asked, so no path can leave the folder.
"""

from __future__ import annotations

import re

import requests
from flask import Blueprint, Response, request

from agentkit.contracts import load_contract
from agentkit.errors import DependencyUnavailable, NotFound

from .http_common import session

pictures = Blueprint("pictures", __name__)

PREFIX = "/images/"
# The file part of the catalog's imagePath pattern ("^/images/[A-Za-z0-9][A-Za-z0-9-]*\.svg$").
FILE_RE = re.compile(
    "^"
    + load_contract("recommendation").defs["imagePath"]["pattern"].removeprefix("^" + PREFIX).removesuffix("$")
    + "$"
)
PASSED_ON = (
    "Content-Type",
    "Content-Length",
    "Cache-Control",
    "ETag",
    "Last-Modified",
    "X-Content-Type-Options",
    "Content-Security-Policy",
)
ASKED_WITH = ("If-None-Match", "If-Modified-Since")


@pictures.get("/images/<path:name>")
def picture(name: str):
    if not FILE_RE.match(name):
        raise NotFound(f"No picture {name!r}.", details=[{"field": "path", "message": "not a catalog picture"}])
    client = session().clients.client("recommendation")
    try:
        upstream = client.session.get(
            client.base_url + PREFIX + name,
            headers={h: request.headers[h] for h in ASKED_WITH if h in request.headers},
            stream=True,
            timeout=client.timeout,
        )
    except requests.RequestException:
        raise DependencyUnavailable("The catalog's pictures are unavailable right now.", retryAfter=5) from None
    if upstream.status_code not in (200, 304):
        upstream.close()
        if upstream.status_code == 404:
            raise NotFound(f"No picture {name!r}.", details=[{"field": "path", "message": "not in the catalog"}])
        raise DependencyUnavailable("The catalog's pictures are unavailable right now.", retryAfter=5)

    def body():
        try:
            yield from upstream.iter_content(chunk_size=16384)
        finally:
            upstream.close()

    headers = {h: upstream.headers[h] for h in PASSED_ON if h in upstream.headers}
    return Response(body(), status=upstream.status_code, headers=headers, direct_passthrough=True)
