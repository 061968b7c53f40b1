"""Where the log file lives and how logging is set up, for the CLI and the app alike.

Qt-free on purpose: the CLI logs to the same folder as the app, and the app's
Help → Open log folder shows :func:`log_dir`. Everything in ``training`` and
``workbench`` logs through ``logging.getLogger(__name__)``; :func:`setup_logging` adds
one rotating file handler to the root logger, so a worker's traceback ends up in
``workbench.log`` and the user can attach that file to a bug report.
"""
from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from training.userdirs import user_folder

LOG_FILE_NAME = "workbench.log"
# What native libraries (TensorFlow's C++ core, absl, CUDA, Qt) write to the process's
# stderr: kept beside the log, out of the user's terminal (see route_native_stderr).
NATIVE_LOG_NAME = "native.log"
NATIVE_MAX_BYTES = 4 * 1024 * 1024
# Environment for every process that imports TensorFlow, set before that import (TF
# reads it once). Level 1 drops TF's INFO lines (oneDNN and CPU-feature notices) and
# keeps its warnings and errors, which route_native_stderr sends to the native log; absl
# prints a few lines before it reads any setting, hence the redirect as well.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "1", "GRPC_VERBOSITY": "ERROR"}
# A few MB is many sessions of tracebacks; three old files keep a crash from yesterday.
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 3
TAIL_BYTES = 256 * 1024   # how much of the log's end last_traceback() reads
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

# A record whose message starts with this line is "Details…" material too, like a traceback:
# the app logs it when a child process (the compute service, a training) dies, followed by
# its exit status and the last lines of its log.
PROCESS_DETAILS = "Child process details:"

# ``log.exception(..., extra=FILE_ONLY)``: to the log file, not to stderr (for a caller,
# like the CLI, that already printed the error its own way).
FILE_ONLY = {"console": False}

log = logging.getLogger(__name__)


def log_dir() -> Path:
    """``$WORKBENCH_LOG_DIR``, else the user's log folder + ``image-workbench``.

    Linux: ``$XDG_STATE_HOME`` (``~/.local/state``), macOS: ``~/Library/Logs``,
    Windows: ``%LOCALAPPDATA%\\image-workbench\\Logs`` (see :mod:`training.userdirs`).
    The folder is not created here (see :func:`log_file`).
    """
    return Path(user_folder("log"))


def log_file() -> Path:
    """The current log file (its folder is created, so it can be opened or shown)."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / LOG_FILE_NAME


class _WorkbenchFileHandler(logging.handlers.RotatingFileHandler):
    """Marks the handler :func:`setup_logging` installed, so a second call adds none."""


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record, as logging's own
    last-resort handler does: a stream bound once goes stale when a caller (pytest's
    capture, an embedding application) swaps stderr and closes the old one."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it
        pass


def setup_logging(level: int = logging.INFO, console: bool = True) -> Path | None:
    """Send log records at ``level`` and above to the rotating log file.

    Idempotent (the CLI's ``main()`` and the app's ``main()`` may both run in one test
    process). The CLI's terminal output is its own (``cliprogress``); with ``console``
    warnings and errors are also printed to stderr, as logging's last resort did. The
    app passes ``console=False``: it shows errors in its window, and Python warnings go
    to the file too (``logging.captureWarnings``), so its terminal stays quiet. Returns
    the log file, or None when the folder cannot be written (then logging stays as it
    was, and the reason goes to stderr once: a read-only home must not stop the app).
    """
    if not console:
        logging.captureWarnings(True)
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _WorkbenchFileHandler):
            return Path(handler.baseFilename)
    try:
        path = log_file()
        handler = _WorkbenchFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                        encoding="utf-8", delay=True)
    except OSError as exc:
        print(f"warning: cannot write the log file in {log_dir()}: {exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    # Keep the previous behaviour for warnings and errors: before a handler existed,
    # logging's "last resort" printed them to stderr. With a file handler installed it
    # no longer does, so add the same stderr output back (WARNING and above only).
    if console and not any(getattr(h, "_workbench_stderr", False) for h in root.handlers):
        console = _CurrentStderrHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("%(message)s"))  # as the last resort did
        console.addFilter(lambda record: getattr(record, "console", True))
        console._workbench_stderr = True  # type: ignore[attr-defined]
        root.addHandler(console)
    log.info("logging to %s", path)
    return path


def quiet_native_env(environ=None) -> None:
    """Set :data:`QUIET_ENV` in ``environ`` (``os.environ``) where the user has not set
    it: child processes inherit it, so every process of the app that imports TensorFlow
    starts with it."""
    environ = os.environ if environ is None else environ
    for key, value in QUIET_ENV.items():
        environ.setdefault(key, value)


def route_native_stderr() -> Path | None:
    """Point this process's file descriptor 2 at ``native.log`` in the log folder, so what
    C and C++ libraries print (absl's "All log messages before absl::InitializeLog()",
    "failed call to cuInit" on a machine without a GPU, Qt plugin notices) lands there
    instead of in the terminal. Child processes inherit it. Python's ``sys.stderr`` keeps
    the terminal: the CLI's progress and a real error message still show.

    Only for a process's entry point (``main.py``, ``python -m training``), never for a
    library call: it changes the whole process. Returns the file, or None when it could
    not be opened (then nothing changes).
    """
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / NATIVE_LOG_NAME
        mode = "ab" if not path.exists() or path.stat().st_size < NATIVE_MAX_BYTES else "wb"
        with open(path, mode) as native:
            native.write(f"--- pid {os.getpid()}: {' '.join(sys.argv)}\n".encode("utf-8", "replace"))
            native.flush()
            terminal = os.dup(2)
            os.dup2(native.fileno(), 2)
    except OSError as exc:
        log.warning("native messages stay on stderr (cannot write %s: %s)", log_dir(), exc)
        return None
    # A crash (a segfault in a native library, Qt or TensorFlow) prints every thread's Python
    # stack into native.log: without it a crashed window leaves only "exit -11".
    faulthandler.enable(file=2, all_threads=True)
    sys.stderr.flush()
    # sys.stderr wrote to fd 2; give it the terminal's copy.
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None)
                           or "utf-8", errors="backslashreplace")
    return path


def tail_lines(path: str | Path, max_bytes: int = TAIL_BYTES) -> list[str]:
    """The lines in the last ``max_bytes`` of ``path`` ([] when it can't be read): the end of
    a log is enough, and reading only it stays fast on the GUI thread."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []


def last_traceback(max_lines: int = 200) -> str:
    """The most recent traceback (or child-process details, :data:`PROCESS_DETAILS`) in the
    log file (for an error's "Details"), or ""."""
    lines = tail_lines(log_file())
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("Traceback (most recent call last):") or PROCESS_DETAILS in lines[i]:
            start = i
            # include the record's own message line just above the traceback
            if PROCESS_DETAILS not in lines[i] and start > 0 and not lines[start - 1].startswith((" ", "Traceback")):
                start -= 1
            end = start + 1
            while end < len(lines) and not _is_record_start(lines[end]):
                end += 1
            return "\n".join(lines[start:end][:max_lines])
    return ""


def _is_record_start(line: str) -> bool:
    # records start with the asctime "YYYY-MM-DD HH:MM:SS,mmm"
    return len(line) > 23 and line[4] == "-" and line[7] == "-" and line[10] == " " and line[13] == ":"
