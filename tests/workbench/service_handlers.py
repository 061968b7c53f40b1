"""Requests only the GUI tests' compute service answers (it is started with ``--handlers
tests.workbench.service_handlers``, see tests/workbench/conftest.py).

``pausing`` runs a real request and holds it at one moment of its job, so a test can act
while it is there (cancel it, kill the service): when the handler reports a status
starting with ``pause_at``, it waits until the request is cancelled (at most ``limit``
seconds), then goes on. Everything else, the core's stop checks included, is the real
code path.
"""
from __future__ import annotations

import time

from training.service.registry import handler, registered


class _Pausing:
    """The handler's ``request``, with ``on_status`` that holds at ``pause_at``."""

    def __init__(self, request, pause_at: str, limit: float) -> None:
        self._request, self._pause_at, self._limit, self._paused = request, pause_at, limit, False

    def __getattr__(self, name):
        return getattr(self._request, name)

    def on_status(self, message: str) -> None:
        self._request.on_status(message)
        if not self._paused and message.startswith(self._pause_at):
            self._paused = True
            end = time.monotonic() + self._limit
            while not self._request.should_stop() and time.monotonic() < end:
                time.sleep(0.01)


@handler("pausing", lane="batch")
def pausing(request, method: str, params: dict, pause_at: str, limit: float = 60.0):
    return registered()[method].fn(_Pausing(request, pause_at, limit), **params)


@handler("patched", tensorflow=False)
def patched(request, method: str, params: dict, patches: dict):
    """Run a real request with module attributes set for its duration (``{"module:name":
    value}``), as a GUI test's ``monkeypatch`` would in the window's process: e.g. a small
    epoch budget, so Auto's epochs differ from the default on a few dozen images."""
    import importlib

    saved = []
    try:
        for target, value in patches.items():
            module, name = target.split(":")
            mod = importlib.import_module(module)
            saved.append((mod, name, getattr(mod, name)))
            setattr(mod, name, value)
        return registered()[method].fn(request, **params)
    finally:
        for mod, name, value in reversed(saved):
            setattr(mod, name, value)
