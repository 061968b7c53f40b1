"""Which process writes a run, and whether it still lives (a dead ``running`` run was
interrupted). Apart from the run folder so the check has one home."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path


def process_info() -> dict:
    """Who is writing a run: pid, host and (on Linux) process start time against pid reuse."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_start": _pid_start(os.getpid())}


def _pid_start(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22: starttime in clock ticks
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        # os.kill(pid, 0) on Windows would *terminate* the process (signal 0 is
        # CTRL_C_EVENT there), so ask the kernel for the exit code instead.
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_alive(run: dict) -> bool:
    """True when the process that wrote a ``running`` run.json still runs.

    A run on another host is assumed alive (we cannot tell); a reused pid is detected on
    Linux by comparing the process start time.
    """
    pid = run.get("pid")
    if not isinstance(pid, int):
        return False
    host = run.get("host")
    if host and host != socket.gethostname():
        return True
    if not _pid_alive(pid):
        return False
    recorded = run.get("pid_start")
    return recorded is None or _pid_start(pid) in (None, recorded)
