"""The one background-job mechanism of the app: a :class:`JobRunner` per kind of job.

A job is a thread :class:`~workbench.workers.base.Worker` (Qt-free work that stays in the
window's process: indexing, reading files, decoding) or a compute-service request
(:class:`workbench.compute.jobs.ServiceJob`: every model job); both have the same
signals and are started, cancelled and superseded the same way.

A panel owns one runner per kind of job (thumbnails, preview, evaluation, summary…):

* ``start(worker, …)`` cancels the running job (Orange's ``ConcurrentWidgetMixin.start``)
  and starts ``worker``; only the job started last reaches the callbacks, so a late
  signal from a cancelled job is dropped instead of overwriting newer results.
* ``queue(make_worker, …)`` is for work that cannot be interrupted (a Keras build): when
  a job is running, its results are dropped and ``make_worker()`` runs once after it
  has ended; queueing again before then replaces the waiting request (one rerun).
* ``shutdown()`` stops every job it started and waits for their threads.

A job ends with exactly one of ``finished(result)``, ``stopped()`` or ``failed(message)``,
then ``done()``. The worker's signals are received by a GUI-thread
:class:`_Job` (``QObject.sender()`` is not reliable here: the worker may already be
deleted when its queued signal arrives). Workers with data
signals of their own (thumbnail chunks, prediction rows) send ``self.job_id``, the
number :meth:`JobRunner.start` returns, and the receiver drops stale ones with
:meth:`JobRunner.is_current`.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from workbench.workers import base
from workbench.workers.base import Worker

_OUTCOMES = ("finished", "failed", "stopped", "progress", "status", "done")


class JobRunner(QObject):
    """One slot for background jobs of one kind.

    Callbacks (``finished(result)``, ``failed(message)``, ``stopped()``,
    ``progress(done, total, what)``, ``status(message)``, ``done()``) run on the GUI
    thread, and only for the job started last.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.current: _Job | None = None
        self._jobs: list[_Job] = []
        self._ended: list[_Job] = []   # ended jobs, released at the next start or end
        self._queued: tuple | None = None   # (make_worker, callbacks) waiting for the slot
        self.seq = 0

    def start(self, worker: Worker, **callbacks) -> int:
        """Cancel the running job (if any) and start ``worker``. Returns the job number."""
        unknown = set(callbacks) - set(_OUTCOMES)
        if unknown:
            raise TypeError(f"Unknown job callbacks: {sorted(unknown)}; use {_OUTCOMES}")
        self.cancel()
        self._release_ended()
        self.seq += 1
        worker.job_id = self.seq

        def route(name):
            # Only the job started last may touch the panel; a cancelled job's late
            # signals are dropped.
            def deliver(job, *args):
                cb = callbacks.get(name)
                if cb is not None and self.current is job:
                    cb(*args)
            return deliver

        def on_done(job):
            route("done")(job)
            self._forget(job)
            self._start_queued()

        # _Job starts the worker at once; its signals are queued to this (GUI) thread,
        # so they can't arrive before ``current`` is set below.
        job = _Job(worker, self, seq=self.seq, on_finished=route("finished"),
                  on_failed=route("failed"), on_stopped=route("stopped"),
                  on_progress=route("progress"), on_status=route("status"), on_done=on_done)
        self._jobs.append(job)
        self.current = job
        return self.seq

    def queue(self, make_worker, **callbacks) -> None:
        """Start ``make_worker()`` now if nothing runs, else once the running job ended.

        The running job is cancelled (its results are dropped) but not waited for; a
        second ``queue`` before it ends replaces the first request.
        """
        if not self.busy():
            self._queued = None
            self.start(make_worker(), **callbacks)
            return
        self.cancel()
        self._queued = (make_worker, callbacks)

    def cancel(self) -> None:
        """Ask the current job to stop; its remaining signals are ignored."""
        if self.current is not None:
            self.current.request_stop()
        self.current = None

    def request_stop(self) -> None:
        """Ask the current job to stop but still deliver its ``stopped``/``done``."""
        if self.current is not None:
            self.current.request_stop()

    def busy(self) -> bool:
        """True until every started job has delivered ``done`` on the GUI thread, or while
        a queued job waits."""
        return self._queued is not None or any(j.running for j in self._jobs)

    def current_busy(self) -> bool:
        return self.current is not None and self.current.running

    def is_current(self, job_id: int) -> bool:
        return self.current is not None and self.current.seq == job_id

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop every job and wait for its thread (window closing)."""
        self._queued = None
        ok = True
        for job in list(self._jobs):
            ok = job.stop_and_wait(timeout_ms) and ok
            job.running = False
        self._jobs.clear()
        self._release_ended()
        self.current = None
        return ok

    def _start_queued(self) -> None:
        if self._queued is None or any(j.running for j in self._jobs):
            return
        make_worker, callbacks = self._queued
        self._queued = None
        self.start(make_worker(), **callbacks)

    def _forget(self, job: _Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if self.current is job:
            self.current = None
        # Not job.deleteLater(): we are inside the job's own done slot, and a deferred
        # delete of it crashed PySide6 now and then (QObject::~QObject in the GUI tests).
        # Jobs that ended earlier have no slot running: hand them back to Python, which
        # deletes them on this (GUI) thread once the last reference goes.
        self._release_ended()
        job.worker = None   # the worker's thread keeper holds it until the thread ends
        self._ended.append(job)

    def _release_ended(self) -> None:
        for job in self._ended:
            job.setParent(None)
        self._ended.clear()


class _Job(QObject):
    """One running worker seen from the GUI thread (JobRunner's private piece).

    It starts ``worker`` and routes its signals to ``on_<signal>(job, *args)`` callbacks.
    The worker's signals are queued to this ``QObject`` (it lives on the GUI thread, and
    its slots are decorated with ``@Slot``: PySide6 can crash on undecorated cross-thread
    slots, PYSIDE-3124); passing the job itself lets the runner tell its current job from
    a cancelled one without ``sender()``, which is unreliable once the worker is deleted.

    Callbacks: ``on_finished(job, result)``, ``on_failed(job, message)``,
    ``on_stopped(job)``, ``on_progress(job, done, total, what)``,
    ``on_status(job, message)``, ``on_done(job)``. ``job.running`` turns False when the
    worker has emitted ``done``.
    """

    def __init__(self, worker, parent=None, seq: int = 0, **callbacks):
        super().__init__(parent)
        self.worker = worker
        self.seq = seq   # the job's number in its JobRunner
        self.running = True
        self._cb = callbacks
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.stopped.connect(self._stopped)
        worker.progress.connect(self._progress)
        worker.status.connect(self._status)
        worker.done.connect(self._done)
        # A compute-service request (workbench.compute.jobs.ServiceJob) has no thread: it
        # sends its request and its signals come from the GUI thread as the answers arrive.
        launch = getattr(worker, "launch", None)
        if launch is not None:
            launch()
        else:
            base.start(worker)

    def request_stop(self) -> None:
        """Ask the worker to stop (it ends with ``stopped``, or its result if it was done)."""
        try:
            if self.worker is not None:   # None once the job has ended
                self.worker.request_stop()
        except RuntimeError:  # the C++ side is already gone: nothing left to stop
            pass

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        own = getattr(self.worker, "stop_and_wait", None)   # a service request: cancel, no wait
        return own(timeout_ms) if own is not None else base.stop_and_wait(self.worker, timeout_ms)

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
