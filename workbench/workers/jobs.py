"""``Job``: one running :class:`~workbench.workers.base.Worker` seen from the GUI thread.

A worker's signals are queued to this ``QObject`` (it lives on the GUI thread, and its
slots are decorated with ``@Slot``: PySide6 can crash on undecorated cross-thread slots,
PYSIDE-3124). It then calls plain Python callbacks with itself as first argument, so a
panel can tell a current job from a cancelled one without ``sender()``, which is
unreliable once the worker has been deleted.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from workbench.workers import base


class Job(QObject):
    """Start ``worker`` and route its signals to ``on_<signal>(job, *args)`` callbacks.

    Callbacks: ``on_finished(job, result)``, ``on_failed(job, message)``,
    ``on_stopped(job)``, ``on_progress(job, done, total, what)``,
    ``on_status(job, message)``, ``on_done(job)``. ``job.running`` turns False when the
    worker has emitted ``done``.
    """

    def __init__(self, worker, parent=None, seq: int = 0, **callbacks):
        super().__init__(parent)
        self.worker = worker
        self.seq = seq   # the job's number in its JobRunner (0 outside one)
        self.running = True
        self.cancelled = False
        self._cb = callbacks
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.stopped.connect(self._stopped)
        worker.progress.connect(self._progress)
        worker.status.connect(self._status)
        worker.done.connect(self._done)
        base.start(worker)

    def cancel(self) -> None:
        """Ask the worker to stop; its later results are still delivered (check ``cancelled``)."""
        self.cancelled = True
        self.request_stop()

    def request_stop(self) -> None:
        """Ask the worker to stop (it ends with ``stopped``, or its result if it was done)."""
        try:
            self.worker.request_stop()
        except RuntimeError:  # the C++ side is already gone: nothing left to stop
            pass

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        self.cancelled = True
        return base.stop_and_wait(self.worker, timeout_ms)

    def _call(self, name: str, *args) -> None:
        fn = self._cb.get(name)
        if fn is not None:
            fn(self, *args)

    @Slot(object)
    def _finished(self, result) -> None:
        self._call("on_finished", result)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._call("on_failed", message)

    @Slot()
    def _stopped(self) -> None:
        self._call("on_stopped")

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, what: str) -> None:
        self._call("on_progress", done, total, what)

    @Slot(str)
    def _status(self, message: str) -> None:
        self._call("on_status", message)

    @Slot()
    def _done(self) -> None:
        self.running = False
        self._call("on_done")
