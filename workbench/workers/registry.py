"""Every worker thread the app starts, so shutdown and tests can find them all."""
from __future__ import annotations

import weakref

_threads: "weakref.WeakSet" = weakref.WeakSet()


def track(thread) -> None:
    _threads.add(thread)


def live_threads() -> list:
    out = []
    for t in list(_threads):
        try:
            if t.isRunning():
                out.append(t)
        except RuntimeError:  # C++ object already deleted
            pass
    return out
