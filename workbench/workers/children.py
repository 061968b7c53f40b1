"""The child processes the app starts, and how they are started and ended, so that none
outlives it.

Every child is started by :func:`spawn`: in a process group of its own (a new session on
POSIX, ``CREATE_NEW_PROCESS_GROUP`` on Windows), so :func:`kill` ends it together with
anything it started, and a Ctrl-C in the terminal that runs the app does not reach it
(the app decides when a child stops). The child's stderr goes to a log file under the
app's log folder (``children/``; the newest ``KEEP_LOGS`` are kept), read back by
:func:`log_tail` for "Details…". A training process also asks the kernel for SIGKILL
when the thread that started it ends (``training.cli.stream.die_with_parent``), and
watches its stdin pipe, so even a crashed app leaves no training behind.

The registry (:func:`running`) lets shutdown and the tests find every child still
alive; ``long_lived`` marks one that is meant to outlive a single job (a spare
training process kept ready).

Plain Python, no Qt: called from the GUI thread and from workers' threads (a lock
guards the registry).
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from training.logs import tail_lines

log = logging.getLogger(__name__)

KEEP_LOGS = 20          # child log files kept in the log folder
TAIL_LINES = 40         # lines of a child's log shown behind "Details…"


@dataclass
class Child:
    proc: subprocess.Popen
    name: str
    log_path: Path | None
    long_lived: bool = False


_lock = threading.Lock()
_children: dict[int, Child] = {}


def package_root() -> str:
    """The folder holding the ``training`` package (the child imports it from there)."""
    import training

    return str(Path(training.__file__).resolve().parent.parent)


def child_env(extra: dict | None = None) -> dict:
    """The app's environment, with the ``training`` package importable."""
    env = dict(os.environ)
    root = package_root()
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([root, *paths])
    env.update(extra or {})
    return env


def _log_path(name: str) -> Path | None:
    from training.logs import log_dir

    folder = log_dir() / "children"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("No log file for the %s process: %s", name, exc)
        return None
    return folder / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{len(_children)}.log"


def prune_logs(folder: Path, keep: int = KEEP_LOGS) -> None:
    """Delete all but the newest ``keep`` logs in ``folder`` (a failure is only logged)."""
    try:
        old = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime)
        for p in old[:max(0, len(old) - keep)]:
            p.unlink(missing_ok=True)
    except OSError as exc:
        log.info("Old child logs in %s not pruned: %s", folder, exc)


def _prune_soon(folder: Path) -> None:
    """Prune on the app's pool when called on the GUI thread: a stat of every log and an
    unlink took 13-29 ms there on a busy disk, when a run's end starts the spare process
    (BENCHMARKS section 14). Other threads (and a process without the pool) prune now."""
    from PySide6.QtCore import QCoreApplication

    if threading.current_thread() is threading.main_thread() and QCoreApplication.instance() is not None:
        from workbench.workers.pool import app_pool

        try:
            app_pool().submit(prune_logs, folder)
            return
        except RuntimeError:   # the pool has shut down (the app is closing)
            pass
    prune_logs(folder)


def spawn(argv: list[str], name: str, long_lived: bool = False, env: dict | None = None) -> Child:
    """Start ``argv`` with pipes on stdin and stdout, stderr to a log file; registered.

    Raises ``OSError`` when the process cannot be started.
    """
    path = _log_path(name)
    err = open(path, "wb") if path is not None else subprocess.DEVNULL
    if path is not None:
        _prune_soon(path.parent)   # once the new log exists: it is among the newest kept
    kwargs: dict = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                env=env if env is not None else child_env(), bufsize=0,
                                close_fds=True, **kwargs)
    finally:
        if err is not subprocess.DEVNULL:
            err.close()   # the child has its own copy
    child = Child(proc, name, path, long_lived)
    with _lock:
        _children[proc.pid] = child
    log.info("Started the %s process %d (log %s)", name, proc.pid, path)
    return child


def kill(child: Child) -> None:
    """End the child and its process group at once (SIGKILL; TerminateProcess on Windows)."""
    proc = child.proc
    if proc.poll() is not None:
        return
    try:
        if sys.platform == "win32":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass   # already gone


def release(child: Child, timeout: float = 5.0) -> int | None:
    """Wait for an ended child (reaping it), close its pipes and forget it; returns its
    exit code (None when it is still running after ``timeout``: it was killed then)."""
    proc = child.proc
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(child)
        code = None
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("The %s process %d did not end after SIGKILL", child.name, proc.pid)
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass
    with _lock:
        _children.pop(proc.pid, None)
    return code


def running() -> list[Child]:
    """Registered children that still run."""
    with _lock:
        return [c for c in _children.values() if c.proc.poll() is None]


def kill_all(timeout: float = 5.0) -> None:
    """Last resort at exit: end every registered child still running."""
    for child in running():
        log.warning("Ending the %s process %d at exit", child.name, child.proc.pid)
        kill(child)
    for child in list(_children.values()):
        release(child, timeout)


def log_tail(child: Child, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of the child's stderr log ("" when there is none)."""
    if child.log_path is None:
        return ""
    return "\n".join(tail_lines(child.log_path, 64 * 1024)[-lines:])


def describe_exit(code: int | None) -> str:
    """``-9`` -> "killed by signal 9 (SIGKILL)"; ``1`` -> "exit code 1"."""
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"
