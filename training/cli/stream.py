"""``python -m training train --events``: the training's event stream, for a supervisor.

The app runs every training in a process of its own (``workbench.workers.training``) and
reads this stream from the process's stdout. One JSON object per line (UTF-8), each with
a ``"type"``; nothing else ever reaches stdout, because :func:`claim_stdout` moves file
descriptor 1 (where TensorFlow, absl and others print, some of them from C++) to stderr
and keeps a private descriptor for the stream. Stderr carries the human-readable log
(status lines, epoch lines, warnings, tracebacks): the supervisor keeps its last lines
for "Details…".

Messages (``STREAM_VERSION`` 1; a new optional field is not a new version):

- ``{"type": "hello", "stream": 1, "pid": int, "host": str}``: first, once.
- ``{"type": "ready"}``: only with ``--wait-for-job``: TensorFlow is imported and the
  process waits for its job on stdin (see below).
- ``{"type": "status", "message": str}``, ``{"type": "progress", "done": int,
  "total": int, "what": str}``, ``{"type": "batch", "info": {...}}``, ``{"type": "epoch",
  "info": {...}}``: the core's :class:`~training.events.Events` calls, payloads as
  documented there.
- ``{"type": "device", "name": str, "gpus": [str], "mixed_precision": bool,
  "problem": str | None}``: the device this run trains on, whether it trains in mixed
  precision, and what is missing when an NVIDIA driver is present but TensorFlow cannot
  use the GPU (:func:`training.fit.device.gpu_missing_reason`).
- ``{"type": "end", "code": 0 | 1 | 2, "result": {...} | None, "error": str | None,
  "kind": "bad_input" | "internal" | None}``: last; ``result`` is what ``--json`` prints.

Stdin: with ``--wait-for-job`` the first line is the job, ``{"argv": [train arguments],
"env": {name: value or None}}`` (a spare process is started before anyone knows what it
will train; see ``workbench.workers.training``). After that, and always with
``--events``, stdin stays open and says nothing: its end means the supervisor is gone,
and the run is stopped as by a stop request (the process exits within seconds). On
Linux the process also asks the kernel for SIGKILL when its parent dies
(:func:`die_with_parent`), so even a crashed app leaves no training behind.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading

from training.events import Events
from training.exits import quick_exit

log = logging.getLogger(__name__)

STREAM_VERSION = 1
PARENT_GONE_GRACE_S = 10.0   # after stdin closed: a stopped run saves, then exits anyway


def claim_stdout():
    """Keep the real stdout for the stream, point descriptor 1 and ``sys.stdout`` at stderr.

    Returns a line-buffered text file on a private duplicate of the original stdout.
    """
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


class EventStream(Events):
    """Write every event as one JSON line to ``out``, and pass it on to ``inner``.

    Thread-safe (Keras callbacks and the stdin watcher may write at once). A stream that
    can no longer be written (the supervisor is gone) is dropped silently: the run goes
    on to its stop, which stdin's end triggers.
    """

    def __init__(self, out, inner: Events):
        self.out, self.inner = out, inner
        self._lock = threading.Lock()

    def send(self, message: dict) -> None:
        try:   # NaN stays NaN (Python's reader takes it); nothing may fail the run
            line = json.dumps(message, ensure_ascii=False, default=_plain)
        except (TypeError, ValueError) as exc:
            log.warning("Event not sent (%s): %r", exc, message.get("type"))
            return
        with self._lock:
            if self.out is None:
                return
            try:
                self.out.write(line + "\n")
                self.out.flush()
            except (OSError, ValueError):
                self.out = None

    def on_status(self, message: str) -> None:
        self.inner.on_status(message)
        self.send({"type": "status", "message": str(message)})

    def on_progress(self, done: int, total: int, what: str) -> None:
        self.inner.on_progress(done, total, what)
        self.send({"type": "progress", "done": int(done), "total": int(total), "what": str(what)})

    def on_batch(self, info: dict) -> None:
        self.inner.on_batch(info)
        self.send({"type": "batch", "info": dict(info)})

    def on_epoch(self, info: dict) -> None:
        self.inner.on_epoch(info)
        self.send({"type": "epoch", "info": dict(info)})

    def should_stop(self) -> bool:
        return self.inner.should_stop()

    def stop(self) -> None:
        self.inner.stop()

    def __getattr__(self, name):
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)   # finish_line and the like


def hello(stream: EventStream) -> None:
    stream.send({"type": "hello", "stream": STREAM_VERSION, "pid": os.getpid(),
                 "host": socket.gethostname()})


def end(stream: EventStream, code: int, result=None, error: str | None = None,
        kind: str | None = None) -> None:
    stream.send({"type": "end", "code": int(code), "result": result, "error": error,
                 "kind": kind})


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def read_job(stdin=None) -> dict:
    """The job line of a ``--wait-for-job`` process; raises ValueError on a bad one."""
    line = (stdin or sys.stdin).readline()
    if not line:
        raise ValueError("stdin closed before a job arrived")
    job = json.loads(line)
    if not isinstance(job, dict) or not isinstance(job.get("argv"), list):
        raise ValueError(f"a job must be {{'argv': [...], 'env': {{...}}}}. Received: {line[:200]!r}")
    for name, value in (job.get("env") or {}).items():
        if value is None:
            os.environ.pop(str(name), None)
        else:
            os.environ[str(name)] = str(value)
    return job


def die_with_parent() -> None:
    """Linux: SIGKILL this process when the thread that started it ends (a crashed app
    cannot leave a training behind). Elsewhere nothing: stdin's end covers it."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
            return
    except (OSError, AttributeError) as exc:
        log.warning("No parent-death signal: %s", exc)
        return
    if os.getppid() != parent or parent == 1:   # the parent died before prctl took effect
        os._exit(1)


def _is_pipe(stream) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def watch_stdin(events: Events, stdin=None) -> threading.Thread | None:
    """A daemon thread that stops the run when stdin ends (the supervisor is gone), then
    ends the process if the stop takes longer than ``PARENT_GONE_GRACE_S``."""
    stream = stdin or sys.stdin

    def run() -> None:
        try:
            while stream.readline():
                pass   # nothing is sent after the job; a line is ignored
        except (OSError, ValueError):
            pass
        log.warning("The supervising process is gone; stopping the run")
        stop = getattr(events, "stop", None)
        if callable(stop):
            stop()
        timer = threading.Timer(PARENT_GONE_GRACE_S, quick_exit, args=(1,))
        timer.daemon = True
        timer.start()

    if not _is_pipe(stream):
        return None   # a terminal or /dev/null: only a supervisor's pipe says it is gone
    thread = threading.Thread(target=run, name="stdin-watch", daemon=True)
    thread.start()
    return thread
