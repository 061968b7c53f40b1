"""Pin a real compute-service request at one moment of its job, so a test can act while
it is there.

Evaluation of a tiny model takes milliseconds, so "stop while it is evaluating" cannot be
hit by timing. ``pausing_job(EvaluationJob, "Evaluating on")`` returns a subclass whose
request, when the core reports a status starting with that text, waits until it is
cancelled, then goes on. Everything else, the core's stop check included, is the real
code path. (A training process is held the same way by tests/workbench/pausing_cli.py.)
"""
from __future__ import annotations

import threading


def pausing_job(job_cls, status_prefix: str, limit: float = 60.0):
    """Returns ``(subclass, reached)`` for a compute-service request
    (``workbench.compute.jobs.ServiceJob``): the service runs the real request through the
    test handler ``pausing`` (tests/workbench/service_handlers.py), which holds it when its
    status starts with ``status_prefix`` until it is cancelled (at most ``limit`` seconds).
    ``reached`` is set when that status arrives in the window."""
    reached = threading.Event()

    class Pausing(job_cls):
        def launch(self):
            if not reached.is_set():
                self.params = {"method": self.method, "params": self.params,
                               "pause_at": status_prefix, "limit": limit}
                self.method = "pausing"
            super().launch()

        def on_status(self, message: str) -> None:
            super().on_status(message)
            if message.startswith(status_prefix):
                reached.set()

    Pausing.__name__ = f"Pausing{job_cls.__name__}"
    return Pausing, reached


def patched_job(job_cls, patches: dict):
    """A subclass of the compute request ``job_cls`` that runs in the service with module
    attributes patched for the request's duration (``{"module:name": value}``; the test
    handler ``patched``, tests/workbench/service_handlers.py): the service's counterpart
    of ``monkeypatch.setattr`` in the window's process."""

    class Patched(job_cls):
        def launch(self):
            self.params = {"method": self.method, "params": self.params, "patches": dict(patches)}
            self.method = "patched"
            super().launch()

    Patched.__name__ = f"Patched{job_cls.__name__}"
    return Patched
