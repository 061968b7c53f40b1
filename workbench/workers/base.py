"""A job on a ``QThread`` of its own: only for a job that must block for its whole
life, the Training panel's supervisor of a training process. Every other job is a
:class:`~workbench.workers.pool.PoolWorker` on the app's thread pool or a compute-service
request (:class:`~workbench.compute.jobs.ServiceJob`).

A :class:`Worker` is a ``QObject`` moved to its own ``QThread`` (the pattern from the Qt
for Python docs): ``thread.started`` runs :meth:`Worker.run`, which calls the subclass's
:meth:`work` and turns its return value into ``finished(object)`` or its exception into
``failed(str)``. Stopping is cooperative through a ``threading.Event`` (``terminate()`` is
never used: Qt's docs call it dangerous). Signals carry plain Python data only.
"""
from __future__ import annotations

import logging
import threading
import traceback

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from training.events import Events, Stopped
from workbench.workers import registry

log = logging.getLogger(__name__)


class JobSignals(QObject):
    """The signals every kind of job has (a thread ``Worker``, a ``PoolWorker``, a
    compute-service ``ServiceJob``), which ``JobRunner`` connects to."""

    status = Signal(str)
    progress = Signal(int, int, str)   # done, total, what
    finished = Signal(object)          # the result of work(), plain data
    failed = Signal(str)               # a message for the user
    stopped = Signal()                 # work() ended because a stop was requested
    done = Signal()                    # always emitted last, whatever happened


class Worker(JobSignals):
    """Subclass and implement :meth:`work`; use ``self.events`` to report and to poll."""

    batch = Signal(dict)
    epoch = Signal(dict)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self.events = SignalEvents(self)
        # The number JobRunner.start gave this job: workers with data signals of their own
        # send it, so the receiver can drop chunks of a superseded job.
        self.job_id = 0
        self._thread: QThread | None = None   # set by start(), for stop_and_wait()

    def request_stop(self) -> None:
        """Thread-safe: ask :meth:`work` to stop at its next check."""
        self._stop.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def work(self):  # pragma: no cover - abstract
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        """Exactly one of ``finished``, ``stopped`` or ``failed``, then ``done``.

        A ``work()`` that returns delivers ``finished`` even when a stop was requested
        meanwhile: what it returned is complete (a stopped training run's summary says
        ``status: "stopped"`` itself).
        """
        try:
            result = self.work()
        except Stopped:
            self.stopped.emit()
        except MemoryError:
            log.exception("%s ran out of memory", type(self).__name__)
            self.failed.emit("Out of memory. Try a smaller batch size, image size or model.")
        except Exception as exc:  # every failure must reach the user (and the log)
            log.exception("%s failed", type(self).__name__)
            self.failed.emit(_describe(exc))
        else:
            self.finished.emit(result)
        finally:
            self.done.emit()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # TensorFlow's OOM errors are long; keep the first line and say what to do.
    if "ResourceExhausted" in type(exc).__name__ or "OOM" in text[:200]:
        return "Out of memory on the compute device. Try a smaller batch size or image size."
    tb = traceback.format_exception_only(type(exc), exc)
    first = tb[-1].strip() if tb else text
    return text if len(text) < 2000 else first[:2000]


class SignalEvents(Events):
    """Bridges the core's :class:`Events` callbacks to the worker's signals."""

    def __init__(self, worker: Worker) -> None:
        self._w = worker

    def on_status(self, message: str) -> None:
        self._w.status.emit(message)

    def on_progress(self, done: int, total: int, what: str) -> None:
        self._w.progress.emit(int(done), int(total), what)

    def on_batch(self, info: dict) -> None:
        self._w.batch.emit(dict(info))

    def on_epoch(self, info: dict) -> None:
        self._w.epoch.emit(dict(info))

    def should_stop(self) -> bool:
        return self._w.stop_requested()


class _Keeper(QObject):
    """Holds a running worker and its thread until the thread has really finished.

    The worker is created by Python, so Python owns its C++ object. If the last Python
    reference went away while the thread was still using the worker, or if Qt's
    ``deleteLater`` ran on the worker thread while Python's garbage collector deleted
    it on the GUI thread, the process could crash ("shared QObject was deleted
    directly", seen in the tests). So nothing calls ``deleteLater``: this keeper lives on
    the GUI thread, receives ``thread.finished`` (queued), waits for the thread to be
    completely done, and only then lets go; Python then deletes both objects on the GUI
    thread, when no other thread can touch them.
    """

    _alive: set = set()

    def __init__(self, thread: QThread, worker: Worker) -> None:
        super().__init__()
        self.thread, self.worker = thread, worker
        _Keeper._alive.add(self)

    @Slot()
    def release(self) -> None:
        try:
            self.thread.wait()  # finished is emitted just before the thread really ends
        except RuntimeError:
            pass
        self.thread = self.worker = None
        _Keeper._alive.discard(self)


def start(worker: Worker, parent: QObject | None = None) -> QThread:
    """Move ``worker`` to a new thread, start it, and clean both up when it ends.

    The caller may keep a reference to the worker (and connect its signals before
    calling this). The thread quits when the worker emits ``done``; both objects are
    released on the GUI thread once the thread has finished (see :class:`_Keeper`).
    """
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: QThread.quit is thread-safe, and the thread must end even while the GUI
    # thread is blocked waiting for it (shutdown, tests' leftover-thread check).
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    keeper = _Keeper(thread, worker)
    thread.finished.connect(keeper.release, Qt.ConnectionType.QueuedConnection)
    registry.track(thread)
    worker._thread = thread
    thread.start()
    return thread


def stop_and_wait(worker: Worker | None, timeout_ms: int = 5000) -> bool:
    """Request a stop and wait for the worker's thread to finish (shutdown path).

    Returns True if the thread ended within ``timeout_ms``.
    """
    if worker is None:
        return True
    try:
        worker.request_stop()
        thread = worker._thread
        if thread is None or not thread.isRunning():
            return True
        thread.quit()
        return thread.wait(timeout_ms)
    except RuntimeError:  # already deleted by deleteLater
        return True
