"""The window's one thread pool, and the only way its threads talk back to the GUI thread.

What stays in the window's process and can't run on the GUI thread is Qt-free Python:
decoding thumbnails and gallery images, listing and reading files (indexing a dataset,
reading run folders), drawing charts with Agg. It runs here, on a few plain Python
threads (``concurrent.futures``), never touching a Qt object: a task hands plain data
back with :meth:`Pool.post`, which appends a callback to a queue and writes one byte to a
socket pair; a ``QSocketNotifier`` on the GUI thread wakes up and runs the callbacks
there. No ``QObject`` is created, used, signalled or freed on a pool thread, and the
garbage collector never runs on one (see :mod:`workbench.collector`).

Model work (TensorFlow) is not here at all: it is a request to the compute service
(:mod:`workbench.compute`).
"""
from __future__ import annotations

import collections
import logging
import os
import socket
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QObject, QSocketNotifier, Slot

from training.events import Events, Stopped
from training.service.errors import OUT_OF_MEMORY, describe_error
from workbench.workers.base import JobSignals

log = logging.getLogger(__name__)

THREADS = 4   # a long job (the image check), thumbnails, a gallery and a chart at once
SLICE_S = 0.004   # callbacks run back to back on the GUI thread for at most this long


class Pool(QObject):
    """A thread pool whose tasks report to the GUI thread (create it on the GUI thread)."""

    def __init__(self, threads: int = THREADS, parent=None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pool")
        self._inbox: collections.deque = collections.deque()   # appends are thread-safe
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._notifier = QSocketNotifier(self._rsock.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._gui_thread = threading.get_ident()
        self._closed = False
        self.threads = threads

    def submit(self, fn, *args):
        """Run ``fn(*args)`` on a pool thread; returns its ``Future``."""
        return self._executor.submit(fn, *args)

    def post(self, fn, *args) -> None:
        """Run ``fn(*args)`` on the GUI thread soon (callable from any thread)."""
        self._inbox.append((fn, args))
        self._wake()

    def on_gui_thread(self) -> bool:
        return threading.get_ident() == self._gui_thread

    @Slot()
    def _drain(self) -> None:
        self._run_queued(SLICE_S)

    def _run_queued(self, budget_s: float | None) -> None:
        try:
            while self._rsock.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        # Only what is queued now: a callback that posts again runs on the next wake-up.
        deadline = time.perf_counter() + (budget_s or 0.0)
        for _ in range(len(self._inbox)):
            fn, args = self._inbox.popleft()
            try:
                fn(*args)
            except Exception:   # one bad callback must not stop the others (logged)
                log.exception("A callback from the thread pool failed")
            if budget_s is not None and self._inbox and time.perf_counter() >= deadline:
                # The rest on the next pass of the event loop: a run's end delivers several
                # results at once (evaluation, runs list, charts), and run back to back
                # they kept the GUI thread busy for one long stretch.
                self._wake()
                break

    def _wake(self) -> None:
        try:
            self._wsock.send(b"\0")
        except (BlockingIOError, OSError):
            pass   # the buffer is full of wake-ups already, or the pool is closed

    def drain(self) -> None:
        """Run everything queued now, at once (shutdown and synchronous callers)."""
        self._run_queued(None)

    def shutdown(self, wait: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
        self.drain()
        self._notifier.setEnabled(False)
        self._rsock.close()
        self._wsock.close()


_pool: Pool | None = None
_pool_pid: int | None = None


def app_pool() -> Pool:
    """The app's pool (created on first use, which must be on the GUI thread)."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():
        from PySide6.QtCore import QCoreApplication

        _pool, _pool_pid = Pool(parent=QCoreApplication.instance()), os.getpid()
    return _pool


def call_weak(method, *args) -> None:
    """On the GUI thread (posted by a pool task): call a ``weakref.WeakMethod`` if its
    object still exists, so a task never holds the QObject it reports to."""
    fn = method()
    if fn is not None:
        fn(*args)


def run_then(callback, fn, *args, pool: Pool | None = None) -> bool:
    """Run ``fn(*args)`` on the app's pool, then ``callback(result)`` on the GUI thread.

    For the small file reads a widget needs (a ``stat``, a JSON file of a run): on the GUI
    thread each system call releases the GIL, and taking it back can wait for a pool
    thread busy in Python (a chart being drawn) for a whole switch interval.
    ``callback`` is a bound method of a GUI-thread object, held weakly (it is dropped if
    the object is gone); ``fn`` is Qt-free and gets and returns plain data. An exception
    in ``fn`` is logged and reported as ``None``. Call on the GUI thread; False when the
    pool has shut down (the app is closing: nothing is called back).
    """
    pool = pool or app_pool()
    done = weakref.WeakMethod(callback)

    def task() -> None:
        try:
            result = fn(*args)
        except Exception:   # the caller must still hear back, or it waits forever
            log.exception("%s failed on the pool", getattr(fn, "__qualname__", fn))
            result = None
        pool.post(call_weak, done, result)

    try:
        pool.submit(task)
    except RuntimeError:   # shut down
        return False
    return True


# -- jobs on the pool ------------------------------------------------------------------------

# Every PoolWorker between launch and the end of its task, so the last reference to it is
# always dropped on the GUI thread (a QObject must be freed there): the pool thread gets
# only its number, and the entry goes when the GUI thread has seen the task's end.
_held: dict[int, "PoolWorker"] = {}
_next_token = [0]


class PoolWorker(JobSignals):
    """A job whose :meth:`work` runs on the app's pool; the shape of a thread ``Worker``.

    Subclass and implement :meth:`work` (Qt-free: plain Python and numpy). It reports
    through ``self.events`` (the core's ``Events``: status, progress, stop) and, for data
    signals of its own, :meth:`emit_later`; every signal is emitted on the GUI thread.
    It ends with exactly one of ``finished(result)``, ``stopped()`` or ``failed(message)``,
    then ``done()``. ``JobRunner.start`` runs it like any job.
    """

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self.events = _PostingEvents(self)
        self.job_id = 0
        self.running = False
        self._token: int | None = None
        self._future = None
        self._pool: Pool | None = None

    def work(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def request_stop(self) -> None:
        """Thread-safe: ask :meth:`work` to stop at its next check."""
        self._stop.set()

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def launch(self) -> None:
        """Start :meth:`work` on the pool (what ``JobRunner.start`` calls)."""
        self._pool = app_pool()
        _next_token[0] += 1
        self._token = _next_token[0]
        _held[self._token] = self
        self.running = True
        self._future = self._pool.submit(_run, self._pool, self._token)

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        """Request a stop and wait for the task to end (window closing). True if it did."""
        self.request_stop()
        future = self._future
        if future is None:
            return True
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            future.result(timeout=timeout_ms / 1000)
        except FutureTimeout:
            return False
        except Exception:  # noqa: BLE001 - _run never raises; a cancelled future does
            pass
        if self._pool is not None:
            self._pool.drain()   # deliver its end now: the caller is about to go away
        return True

    def emit_later(self, signal: str, *args) -> None:
        """Emit ``self.<signal>(*args)`` on the GUI thread (call from :meth:`work`)."""
        self._pool.post(_emit, self._token, signal, args)

    def _outcome(self) -> tuple[str, object]:
        """Run :meth:`work` (pool thread): ``("finished", result)``, ``("stopped", None)``
        or ``("failed", message)``; the exception goes to the log with its traceback."""
        try:
            return "finished", self.work()
        except Stopped:
            return "stopped", None
        except MemoryError:
            log.exception("%s ran out of memory", type(self).__name__)
            return "failed", OUT_OF_MEMORY
        except Exception as exc:   # every failure must reach the user (and the log)
            log.exception("%s failed", type(self).__name__)
            return "failed", describe_error(exc)[1]


class _PostingEvents(Events):
    """The core's ``Events`` for a pool job: each report is emitted on the GUI thread;
    progress is thinned to what a person can see (~20 a second)."""

    def __init__(self, worker: PoolWorker) -> None:
        self._w = worker
        self._last = 0.0

    def on_status(self, message: str) -> None:
        self._w.emit_later("status", str(message))

    def on_progress(self, done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.05:
            return
        self._last = now
        self._w.emit_later("progress", int(done), int(total), str(what))

    def should_stop(self) -> bool:
        return self._w.stop_requested()


def _run(pool: Pool, token: int) -> None:
    """A pool thread: run the held worker's job, post its outcome, then let go of it."""
    worker = _held.get(token)
    if worker is not None:
        outcome = worker._outcome()
        del worker   # before the release below: this thread must not hold the last reference
        pool.post(_finish, token, *outcome)
    pool.post(_release, token)


def _emit(token: int, signal: str, args: tuple) -> None:
    worker = _held.get(token)
    if worker is not None and worker.running:
        getattr(worker, signal).emit(*args)


def _finish(token: int, kind: str, payload) -> None:
    worker = _held.get(token)
    if worker is None or not worker.running:
        return
    worker.running = False
    try:
        if kind == "finished":
            worker.finished.emit(payload)
        elif kind == "stopped":
            worker.stopped.emit()
        else:
            worker.failed.emit(payload)
    finally:
        worker.done.emit()


def _release(token: int) -> None:
    _held.pop(token, None)


def held_workers() -> int:
    """How many pool jobs are between launch and their end (tests, shutdown)."""
    return len(_held)
