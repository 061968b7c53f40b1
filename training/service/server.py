"""The compute service's loop: read requests from the pipe, run them, answer.

The main thread only reads: requests and cancels arrive while a request runs, and the
end of the input (the app closed the pipe or died) ends the process, so no service
outlives its app. Requests run on two *lanes*, one thread each, in arrival order within
a lane: ``interactive`` (a prediction, a heatmap, a summary: short, and waited for by a
person) and ``batch`` (evaluation, export, data health: minutes), so a long job never
holds up a click. Model loading is serialised by :class:`~training.service.models.WarmModels`.

Every request ends with exactly one of ``result``, ``error`` or ``stopped``. A handler's
exception becomes an ``error`` whose ``kind`` is ``bad_input`` (the person can fix it:
the message says what was wrong) or ``internal`` (a bug: ``details`` holds the traceback,
which the service also logs).
"""
from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback

from training.events import Events, Stopped
from training.service import protocol as P
from training.service.errors import describe_error

log = logging.getLogger(__name__)

LANES = ("interactive", "batch")
PROGRESS_INTERVAL_S = 0.1   # at most ~10 progress messages a second per request


def claim_channel() -> tuple[int, int]:
    """Take the protocol's pipes away from file descriptors 0 and 1; returns ``(in, out)``.

    TensorFlow, absl and others print to stdout, some from C++ straight to file
    descriptor 1, where Python's ``sys.stdout`` can't catch them. So the pipe to the app
    is duplicated to a private descriptor, and descriptor 1 (and ``sys.stdout``) are
    pointed at stderr, which goes to the service's log: whatever a library prints lands
    there and can never corrupt a frame. Descriptor 0 is pointed at ``/dev/null`` for the
    same reason in the other direction. The private descriptors are not inherited by
    child processes.
    """
    sys.stdout.flush()
    out_fd, in_fd = os.dup(1), os.dup(0)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    return in_fd, out_fd


class Request(Events):
    """One request as its handler sees it: the core's :class:`Events` (status, progress
    and stop, forwarded as messages) plus :meth:`partial` for streamed results."""

    def __init__(self, server: "Server", rid, method: str, params: dict) -> None:
        self.server, self.id, self.method, self.params = server, rid, method, params
        self._stop = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set() or self.server.closing

    def on_status(self, message: str) -> None:
        self.server.send({"type": P.STATUS, "id": self.id, "message": str(message)})

    def on_progress(self, done: int, total: int, what: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        self.server.send({"type": P.PROGRESS, "id": self.id, "done": int(done),
                          "total": int(total), "what": str(what)})

    def partial(self, data) -> None:
        """Send part of the result now (rows of a prediction, batch by batch)."""
        self.server.send({"type": P.PARTIAL, "id": self.id, "data": data})


class Server:
    """Serves one app over ``in_fd``/``out_fd`` with the handlers in ``registry``."""

    def __init__(self, registry: dict, in_fd: int, out_fd: int, version: int = P.PROTOCOL_VERSION):
        self.registry, self.in_fd, self.out_fd, self.version = registry, in_fd, out_fd, version
        self.closing = False
        self.client_error: str | None = None
        self._write_lock = threading.Lock()
        self._live: dict = {}           # id -> Request (queued or running)
        self._live_lock = threading.Lock()
        self._queues = {lane: queue.Queue() for lane in LANES}
        self._warm_lock = threading.Lock()
        self._warm = False
        self._threads = [threading.Thread(target=self._lane, args=(lane,), name=f"lane-{lane}",
                                          daemon=True) for lane in LANES]

    # -- output ---------------------------------------------------------------------------
    def send(self, message: dict) -> None:
        data = P.encode(message)
        with self._write_lock:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self.out_fd, view)
                except BrokenPipeError:   # the app is gone; the reader sees EOF and exits
                    self.closing = True
                    return
                view = view[n:]

    # -- input ----------------------------------------------------------------------------
    def serve(self) -> int:
        """Answer until the input ends or a ``shutdown`` arrives. Returns the exit code."""
        for t in self._threads:
            t.start()
        self.send(P.hello(os.getpid(), list(self.registry), self.version))
        decoder = P.Decoder()
        try:
            while not self.closing:
                data = os.read(self.in_fd, 1 << 16)
                if not data:
                    log.info("The app closed the channel: stopping")
                    break
                for message in decoder.feed(data):
                    self._dispatch(message)
        finally:
            self.close()
        return 0

    def close(self, timeout: float = 0.5) -> None:
        """Stop taking requests; give running ones ``timeout`` seconds to see their stop
        flag. The app has gone (or asked to stop) and waits for this process to end, so
        nothing longer: the caller exits without waiting for lanes still inside a call."""
        self.closing = True   # every running request sees should_stop()
        for q in self._queues.values():
            q.put(None)
        end = time.monotonic() + timeout
        for t in self._threads:
            if t.is_alive():
                t.join(max(0.0, end - time.monotonic()))

    def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == P.HELLO:
            self.client_error = P.version_mismatch(message.get("protocol"), self.version)
            if self.client_error:
                log.error("%s", self.client_error)
                self.send({"type": P.ERROR, "id": None, "kind": P.INTERNAL,
                           "message": self.client_error})
        elif kind == P.REQUEST:
            self._enqueue(message)
        elif kind == P.CANCEL:
            with self._live_lock:
                req = self._live.get(message.get("id"))
            if req is not None:
                req.cancel()
        elif kind == P.SHUTDOWN:
            self.closing = True
        else:
            log.warning("Ignored a message of unknown type %r", kind)

    def _enqueue(self, message: dict) -> None:
        rid, method = message.get("id"), message.get("method")
        if self.client_error:
            self.send({"type": P.ERROR, "id": rid, "kind": P.INTERNAL, "message": self.client_error})
            return
        entry = self.registry.get(method)
        if entry is None:
            self.send({"type": P.ERROR, "id": rid, "kind": P.BAD_INPUT,
                       "message": f"The compute service has no request {method!r}. "
                                  f"It answers: {', '.join(sorted(self.registry))}."})
            return
        req = Request(self, rid, method, message.get("params") or {})
        with self._live_lock:
            self._live[rid] = req
        self._queues[entry.lane].put(req)

    def _warm_up(self) -> None:
        """Import TensorFlow once, from one lane at a time (two threads importing it at once
        register its ops twice and fail), and turn on GPU memory growth before any op runs,
        so a training process can share the GPU with this service."""
        with self._warm_lock:
            if self._warm:
                return
            from training.fit.device import describe_devices

            info = describe_devices()
            self._warm = True
            log.info("TensorFlow %s ready on %s%s", info.get("tensorflow"), info.get("name"),
                     f" ({info['gpu_missing']})" if info.get("gpu_missing") else "")

    # -- lanes ----------------------------------------------------------------------------
    def _lane(self, lane: str) -> None:
        q = self._queues[lane]
        while True:
            req = q.get()
            if req is None:
                return
            try:
                self._run(req)
            finally:
                with self._live_lock:
                    self._live.pop(req.id, None)

    def _run(self, req: Request) -> None:
        if req.should_stop():   # cancelled while it waited
            self.send({"type": P.STOPPED, "id": req.id})
            return
        t0 = time.perf_counter()
        entry = self.registry[req.method]
        try:
            if entry.tensorflow:
                self._warm_up()
            result = entry.fn(req, **req.params)
        except Stopped:
            self.send({"type": P.STOPPED, "id": req.id})
        except BaseException as exc:   # every failure must reach the app (re-raised below if fatal)
            kind, message = describe_error(exc)
            details = "".join(traceback.format_exception(exc))
            if kind == P.INTERNAL:
                log.error("Request %s %s failed:\n%s", req.id, req.method, details)
            else:
                log.info("Request %s %s: %s", req.id, req.method, message)
            self.send({"type": P.ERROR, "id": req.id, "kind": kind, "message": message,
                       "details": details})
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        else:
            try:
                self.send({"type": P.RESULT, "id": req.id, "data": result})
            except (TypeError, ValueError) as exc:   # a handler returned what JSON can't carry
                log.exception("Request %s %s: the result could not be sent", req.id, req.method)
                self.send({"type": P.ERROR, "id": req.id, "kind": P.INTERNAL, "message": str(exc),
                           "details": "".join(traceback.format_exception(exc))})
                return
            log.info("Request %s %s answered in %.3f s", req.id, req.method, time.perf_counter() - t0)
