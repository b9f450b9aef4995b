"""Fixtures for the sales agent's tests (the repository's are in the top-level conftest.py)."""

from __future__ import annotations

import pytest

from sales_agent.testing import app_session_headers


@pytest.fixture(scope="session")
def shopper_headers():
    """``shopper_headers(app, "U1002")``: the Authorization header of a session for that shopper that ``app``
    accepts (``lifetime=-60``: an expired one; ``guest=True``: a guest's)."""
    return app_session_headers
