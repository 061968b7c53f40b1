"""A compute-service request as a job of the app's one job mechanism (``JobRunner``).

A :class:`ServiceJob` has the signals of a thread :class:`~workbench.workers.base.Worker`
(``status``, ``progress``, ``finished``, ``failed``, ``stopped``, then ``done``), so a
panel runs it with ``JobRunner.start`` like any other job: a newer job cancels it, and
only the latest one reaches the panel. It lives on the GUI thread and has no thread of
its own: :meth:`launch` sends the request, the :class:`ComputeClient` calls its
``on_*`` methods as the answers arrive, and they emit the signals.

Subclasses name the request (``method``), build its ``params`` (plain data and numpy
arrays only) and may reshape the result (:meth:`shape`) or route partial results
(:meth:`partial`).
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QTimer

from workbench.workers.base import JobSignals

log = logging.getLogger(__name__)


class ServiceJob(JobSignals):
    """One request to the compute service, run through ``JobRunner.start``.

    Args:
        method: the request's name (a handler in ``training/service/handlers/``).
        params: its parameters (JSON data and numpy arrays).
        client: the :class:`ComputeClient` (None: the app's, ``workbench.compute.app_client()``).
    """

    method = ""
    # The service opens the dataset, label overlay included, for most requests, so every
    # label given must be on disk first (the client waits for the overlay writer). A job
    # whose labels travel in its params sets this False and does not wait.
    reads_labels_on_disk = True

    def __init__(self, params: dict | None = None, method: str | None = None, client=None) -> None:
        super().__init__()
        self.method = method or self.method
        self.params = dict(params or {})
        self.job_id = 0          # set by JobRunner.start
        self.rid: int | None = None
        self.running = False
        self.error_kind: str | None = None   # "bad_input" / "internal" after a failure
        self._client = client
        self._stop = False
        self.invalid: str | None = None   # why the request can't be made (said by launch)

    # -- what JobRunner calls ---------------------------------------------------------------
    def launch(self) -> None:
        """Send the request. A failure to send is reported on the next event-loop turn, so
        the runner has made this its current job before ``failed`` arrives."""
        from workbench.compute import app_client
        from workbench.compute.client import ServiceUnavailable

        self.running = True
        if self.invalid:
            QTimer.singleShot(0, self, lambda: self.on_error("bad_input", self.invalid))
            return
        client = self._client or app_client()
        self._client = client
        try:
            self.rid = client.request(self, self.method, self.params,
                                      flush_labels=self.reads_labels_on_disk)
        except ServiceUnavailable as exc:
            message = str(exc)
            QTimer.singleShot(0, self, lambda: self.on_error("internal", message))

    def request_stop(self) -> None:
        self._stop = True
        if self.running and self.rid is not None and self._client is not None:
            self._client.cancel(self.rid)

    def stop_requested(self) -> bool:
        return self._stop

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        """Window closing: cancel and let go (nothing here holds a thread to wait for)."""
        if self.running and self.rid is not None and self._client is not None:
            self._client.forget(self.rid)
        self.running = False
        return True

    # -- what subclasses may override --------------------------------------------------------
    def shape(self, data):
        """The ``finished`` payload made from the service's result (default: as is)."""
        return data

    def partial(self, data) -> None:
        """A partial result arrived (default: ignored)."""

    # -- what the client calls with the service's answers (GUI thread) -------------------------
    def on_status(self, message: str) -> None:
        self.status.emit(message)

    def on_progress(self, done: int, total: int, what: str) -> None:
        self.progress.emit(done, total, what)

    def on_partial(self, data) -> None:
        if not self._stop:
            self.partial(data)

    def on_result(self, data) -> None:
        try:
            result = self.shape(data)
        except Exception as exc:   # a malformed answer is this job's failure (logged)
            log.exception("%s: could not use the compute service's answer", type(self).__name__)
            self._end(self.failed, f"The compute service's answer could not be used: {exc}")
            return
        self._end(self.finished, result)

    def on_error(self, kind: str, message: str) -> None:
        self.error_kind = kind
        self._end(self.failed, message)

    def on_stopped(self) -> None:
        self._end(self.stopped)

    def _end(self, signal, *args) -> None:
        if not self.running:
            return
        self.running = False
        try:
            signal.emit(*args)
        finally:
            self.done.emit()
