"""Run at most one worker of a kind at a time, and know reliably when it has ended.

A panel owns one :class:`JobRunner` per kind of job (thumbnails, preview, evaluation…).
Starting a job cancels the previous one (Orange's ``ConcurrentWidgetMixin.start``).
The worker's ``finished``/``failed``/``stopped`` signals are received by a
GUI-thread :class:`~workbench.workers.jobs.Job`, so a late signal from a cancelled job is dropped instead
of overwriting newer results (``QObject.sender()`` is not reliable here: the worker may
already be deleted when its queued signal arrives).
"""
from __future__ import annotations

from PySide6.QtCore import QObject

from workbench.workers.base import Worker, stop_and_wait
from workbench.workers.jobs import Job


class JobRunner(QObject):
    """One slot for background jobs of one kind.

    Callbacks (``finished(result)``, ``failed(message)``, ``stopped()``, ``done()``) run
    on the GUI thread, and only for the job started last.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.current: Job | None = None
        self._jobs: list[Job] = []
        self.seq = 0

    def start(self, worker: Worker, **callbacks) -> int:
        """Cancel the running job (if any) and start ``worker``. Returns the job number."""
        self.cancel()
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

        # Job starts the worker at once; its signals are queued to this (GUI) thread,
        # so they can't arrive before ``current`` is set below.
        job = Job(worker, self, on_finished=route("finished"), on_failed=route("failed"),
                  on_stopped=route("stopped"), on_done=on_done)
        self._jobs.append(job)
        self.current = job
        return self.seq

    def cancel(self) -> None:
        """Ask the current job to stop; its remaining signals are ignored."""
        if self.current is not None:
            _request_stop(self.current.worker)
        self.current = None

    def request_stop(self) -> None:
        """Ask the current job to stop but still deliver its ``stopped``/``done``."""
        if self.current is not None:
            _request_stop(self.current.worker)

    def busy(self) -> bool:
        """True until every started job has delivered ``done`` on the GUI thread."""
        return any(j.running for j in self._jobs)

    def current_busy(self) -> bool:
        return self.current is not None and self.current.running

    def is_current(self, job_id: int) -> bool:
        return self.current is not None and getattr(self.current.worker, "job_id", None) == job_id

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop every job and wait for its thread (window closing)."""
        ok = True
        for job in list(self._jobs):
            ok = stop_and_wait(job.worker, timeout_ms) and ok
            job.running = False
        self._jobs.clear()
        self.current = None
        return ok

    def _forget(self, job: Job) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        if self.current is job:
            self.current = None
        job.deleteLater()


def _request_stop(worker: Worker) -> None:
    try:
        worker.request_stop()
    except RuntimeError:  # the C++ side is already gone: nothing left to stop
        pass
