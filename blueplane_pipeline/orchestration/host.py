"""What a run needs to know about the long-lived process executing it in a thread.

``SHUTDOWN`` is set when that process (``blueplane_pipeline.orchestration.daemon``) is asked
to stop: a follow run sees it within one blocking read and ends cleanly, its events
committed and acknowledged. In any other process (a run launched in its own subprocess)
it is never set and the run ends on its own, after its idle period.
"""

from __future__ import annotations

import os
import signal
import threading

SHUTDOWN = threading.Event()

# An injected crash for the fault tests, never set otherwise: "N:raise" raises, "N:kill"
# SIGKILLs this process, right after the N-th committed batch and before its XACK.
CRASH_ENV = "BLUEPLANE_TEST_CRASH_AFTER_COMMITS"


class InjectedCrash(RuntimeError):
    """The failure ``CRASH_ENV`` asked for."""


def crash_hook():
    """The ``after_commit`` callback ``CRASH_ENV`` asks for, or ``None``."""
    spec = os.environ.get(CRASH_ENV, "")
    if not spec:
        return None
    count, _, how = spec.partition(":")
    left = [int(count)]

    def after_commit(ids: list[bytes]) -> None:
        left[0] -= 1
        if left[0] > 0:
            return
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise InjectedCrash(f"injected crash after a commit of {len(ids)} entries")

    return after_commit
