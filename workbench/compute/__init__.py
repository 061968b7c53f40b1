"""The app's compute: every model job is a request to a child process.

``app_client()`` is the app's one :class:`~workbench.compute.client.ComputeClient` (made on
first use, on the GUI thread); :class:`~workbench.compute.jobs.ServiceJob` subclasses in
:mod:`workbench.compute.requests` are what panels start with their ``JobRunner``. The
window's process never imports TensorFlow: the service (``python -m training.service``,
docs/PROTOCOL.md) does.
"""
from __future__ import annotations

_client = None


def app_client():
    """The app's compute client (created, not started, on first use)."""
    global _client
    if _client is None:
        from PySide6.QtCore import QCoreApplication

        from workbench.compute.client import ComputeClient

        _client = ComputeClient(parent=QCoreApplication.instance())
    return _client


def set_client(new):
    """Use ``new`` as the app's client (tests: a session-wide one); returns the old one."""
    global _client
    old, _client = _client, new
    return old


def shutdown(timeout_ms: int = 2000) -> bool:
    """Stop the app's compute service, if one was started (the app is quitting)."""
    return _client.shutdown(timeout_ms) if _client is not None else True
