"""Label overlay files written off the GUI thread, newest state wins (issue 23).

A key press in the labelling view gives a label and saves the overlay; the write (JSON,
signature, temporary file, ``fsync``, rename: 5-20 ms on a busy disk) held the GUI thread
on every press. Now the GUI thread takes a plain-data snapshot
(``LabelOverlay.snapshot``: the file's path and its content as dicts and lists) and hands
it here; one writer thread writes it with the core's atomic write
(``training.data.overlay.write_snapshot``). Snapshots of one file that arrive while a
write runs are coalesced: only the newest is written next, so a key held down costs one
write at a time, never a queue of them.

Ownership: the snapshots belong to this writer once handed over (nobody else holds them);
the writer thread is started on demand and ends ``LINGER_S`` after its last write. It
lingers because ``Thread.start`` blocks the caller until the new thread runs: on two
loaded cores that cost the GUI thread 5-10 ms on every key press when each press started
a thread of its own; a waiting thread is woken instead. It touches no Qt object: a failure is posted to the GUI thread
through the app pool (a weak method of the GUI-thread owner). :func:`flush` waits for every
pending write: called on closing the window and before anything reads the overlay file
back (opening or reopening a dataset, a compute-service request, moving files). A write
starts at once, not after a delay, so an app killed right after a key press loses at most
the write in progress (its file is the previous one, whole: atomic rename).
"""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

LINGER_S = 5.0   # the writer thread waits this long for the next snapshot before it ends


class OverlayWriter:
    """One per process (:func:`writer`); :meth:`save` and :meth:`flush` on the GUI thread."""

    def __init__(self, linger_s: float = LINGER_S) -> None:
        self.linger_s = linger_s
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)   # a snapshot handed to a waiting thread
        self._pending: dict[str, tuple] = {}   # path -> (snapshot, on_error, pool)
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.writes = 0   # files written (tests, benchmarks)

    def save(self, overlay, on_error=None) -> None:
        """Write ``overlay`` soon (off this thread). ``on_error``: a ``weakref.WeakMethod``
        called on the GUI thread with a message if the write fails."""
        from workbench.workers.pool import app_pool

        snapshot = overlay.snapshot()   # chooses the file: its path is known from now on
        pool = app_pool() if on_error is not None else None   # made on the GUI thread
        with self._lock:
            self._pending[snapshot["path"]] = (snapshot, on_error, pool)
            self._idle.clear()
            self._wake.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="overlay-writer",
                                                daemon=True)
                self._thread.start()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every overlay handed over is on disk. False after ``timeout_s``."""
        if self._idle.wait(timeout_s):
            return True
        log.warning("label overlay writes still pending after %.0f s", timeout_s)
        return False

    def pending(self) -> bool:
        return not self._idle.is_set()

    def thread(self) -> threading.Thread | None:
        """The writer thread while it runs or lingers (None once it has ended)."""
        with self._lock:
            return self._thread

    def _run(self) -> None:
        from training.data import overlay as core   # looked up per write: a test spies on it

        while True:
            with self._lock:
                if not self._pending:
                    self._idle.set()
                    # save() notifies under this lock, so no snapshot slips in unseen.
                    self._wake.wait(self.linger_s)
                    if not self._pending:
                        self._thread = None
                        return
                path = next(iter(self._pending))
                snapshot, on_error, pool = self._pending.pop(path)
            try:
                core.write_snapshot(snapshot)
                self.writes += 1
            except Exception as exc:   # reported to the user, never lost
                log.exception("saving the label overlay %s failed", path)
                message = (f"Could not save the label fixes to {path}: "
                           f"{getattr(exc, 'strerror', None) or exc}")
                if on_error is not None:
                    from workbench.workers.pool import call_weak

                    pool.post(call_weak, on_error, message)


_writer: OverlayWriter | None = None


def writer() -> OverlayWriter:
    """The process's one writer (created on first use)."""
    global _writer
    if _writer is None:
        _writer = OverlayWriter()
    return _writer


def flush(timeout_s: float = 10.0) -> bool:
    """Every label overlay handed to the writer is on disk (see the module docstring)."""
    return _writer.flush(timeout_s) if _writer is not None else True
