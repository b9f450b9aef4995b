"""The reconciler: finishes or undoes, in the background, any checkout a dead process left half-placed.

A placement that stopped moving (no step for ``stale_after`` seconds) is read back from the agents and
undone by ``CheckoutWorkflow.recover_stale``: the order cancelled, the charge refunded, the hold released,
the points given back. Placed orders whose points could not be earned are credited. It runs every
``SALES_RECONCILE_SECONDS`` (settings.py; default 60, 0 turns it off) in each sales worker: recovery claims a checkout
with a guarded UPDATE, so two workers never undo the same one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from agentkit.logs import get_logger

from .checkout import CheckoutWorkflow

log = get_logger("sales.reconciler")

# A step waits at most a read timeout and its retries (well under 30 s), and every step is a heartbeat,
# so a placement silent for this long belongs to a process that died.
MIN_STALE_AFTER = 30.0


def stale_after(every: float, override: float | None = None) -> float:
    """A charge is left without an order for at most two intervals: stale within one, found within the next.

    ``override`` (SALES_RECONCILE_STALE_SECONDS; tests use a couple of seconds) replaces it."""
    if override is not None:
        return max(0.0, override)
    return max(MIN_STALE_AFTER, min(every, 300.0))


class Reconciler:
    def __init__(self, workflow: Callable[[], CheckoutWorkflow], every: float, stale: float | None = None):
        self._workflow = workflow
        self.every = every
        self.stale = stale_after(every) if stale is None else stale
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[dict[str, Any]]:
        recovered = self._workflow().recover_stale(None, older_than=int(self.stale))
        for checkout in recovered:
            log.warning(
                "reconciled checkout %s of %s: %s",
                checkout["checkoutId"],
                checkout["userId"],
                "; ".join(str(step.get("detail") or step.get("step")) for step in checkout.get("undo", [])),
            )
        return recovered

    def start(self) -> None:
        if self.every <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="sales-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.run_once()
            except Exception:  # an agent down or a bug: log it and try again next interval, never die
                log.exception("reconciling checkouts failed; trying again in %.0f s", self.every)
