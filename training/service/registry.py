"""Which requests the compute service answers: one module per request type.

A handler is a function ``fn(request, **params) -> result`` decorated with
:func:`handler`; ``request`` is the :class:`~training.service.server.Request` (the core's
``Events``: status, progress, stop; plus ``partial(data)``), ``params`` the request's JSON
object, and the result plain data (dicts, lists, numbers, strings, numpy arrays).
:func:`training.service.main.load_handlers` imports every module of ``training/service/handlers/``, so adding a request
type is one new file there (see docs/ARCHITECTURE.md, "Add a compute request").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

_HANDLERS: dict = {}


@dataclass(frozen=True)
class Handler:
    name: str
    fn: Callable
    lane: str        # "interactive" (a person waits on it) or "batch" (minutes)
    tensorflow: bool  # needs TensorFlow: the service sets it up first (GPU memory growth)


def handler(name: str, lane: str = "interactive", tensorflow: bool = True):
    """Register ``fn`` as the answer to requests named ``name``."""
    if lane not in ("interactive", "batch"):
        raise ValueError(f"lane must be 'interactive' or 'batch'. Received: {lane!r}")

    def register(fn):
        if name in _HANDLERS and _HANDLERS[name].fn is not fn:
            raise ValueError(f"Two handlers for the compute request {name!r}: "
                             f"{_HANDLERS[name].fn.__module__} and {fn.__module__}")
        _HANDLERS[name] = Handler(name, fn, lane, tensorflow)
        return fn
    return register


def registered() -> dict:
    """``{name: Handler}`` of every handler imported so far."""
    return dict(_HANDLERS)
