"""The CPUs this process may use, and TensorFlow's thread pools sized to them.

TensorFlow sizes its intra-op and inter-op pools from the host's core count. In a
container with a CPU quota (cgroup ``cpu.max`` / ``cpu.cfs_quota_us``) or a restricted
affinity (``taskset``, cpusets) that is more threads than the process can run, and they
then fight over the cores it has; on a bare host it is right. So the pools are set from
what this process may actually use (RESEARCH.md, "Time to accuracy"), once, before the
first TensorFlow op: after that TensorFlow refuses to change them.

``WORKBENCH_THREADS=N`` overrides the count (a benchmark comparing settings, or a person
sharing a machine on purpose). No TensorFlow import at module level.

:func:`run_in_background` lowers this process's CPU priority: the app's training
processes run as background jobs, so the window's GUI thread gets a core the moment it
has work (see its docstring).
"""
from __future__ import annotations

import logging
import math
import os
import sys
import threading

log = logging.getLogger(__name__)

_CGROUP_ROOT = "/sys/fs/cgroup"
_lock = threading.Lock()
_applied: dict | None = None


def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (``os.cpu_count()`` where that is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _cgroup_paths(proc_cgroup: str) -> tuple[str | None, str | None]:
    """(cgroup v2 path, cgroup v1 ``cpu`` controller path) from ``/proc/self/cgroup`` text."""
    v2 = v1 = None
    for line in proc_cgroup.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def _ancestors(root: str, path: str):
    """``root/path``, then each parent folder up to ``root`` (a quota set on a parent
    cgroup limits its children too)."""
    parts = [p for p in (path or "/").split("/") if p]
    for i in range(len(parts), -1, -1):
        yield os.path.join(root, *parts[:i])


def quota_cpus(root: str = _CGROUP_ROOT, proc_cgroup: str | None = None) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``1.5`` = 150 ms per 100 ms), the
    smallest along its ancestors, or None when there is none (or it can't be read).

    Args:
        root: where the cgroup file systems are mounted (a test passes a fake tree).
        proc_cgroup: the text of ``/proc/self/cgroup`` (read when None).
    """
    if proc_cgroup is None:
        proc_cgroup = _read("/proc/self/cgroup") or ""
    v2, v1 = _cgroup_paths(proc_cgroup)
    found: list[float] = []
    if v2 is not None:
        for base in (root, os.path.join(root, "unified")):
            for folder in _ancestors(base, v2):
                text = _read(os.path.join(folder, "cpu.max"))
                if text:
                    quota, _, period = text.partition(" ")
                    if quota != "max" and quota.isdigit() and period.strip().isdigit() \
                            and int(period) > 0:
                        found.append(int(quota) / int(period))
    if v1 is not None:
        for base in (os.path.join(root, "cpu"), os.path.join(root, "cpu,cpuacct")):
            for folder in _ancestors(base, v1):
                quota = _read(os.path.join(folder, "cpu.cfs_quota_us"))
                period = _read(os.path.join(folder, "cpu.cfs_period_us"))
                try:
                    q, p = int(quota or ""), int(period or "")
                except ValueError:
                    continue
                if q > 0 and p > 0:
                    found.append(q / p)
    return min(found) if found else None


def usable_cpus() -> int:
    """The CPUs this process may keep busy: its affinity, capped by its cgroup quota
    (rounded up: a 1.5-CPU quota still runs two threads usefully part of the time)."""
    cpus = affinity_cpus()
    quota = quota_cpus()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota - 1e-9)))
    return cpus


def thread_counts(cpus: int | None = None) -> dict:
    """TensorFlow's ``{"intra_op", "inter_op", "cpus", "source"}`` for ``cpus`` (usable
    CPUs by default; ``WORKBENCH_THREADS`` first).

    intra-op = the CPUs (one op's work spread over all of them); inter-op = the CPUs too,
    at least 2, so that the input pipeline's ops and the training step can run side by
    side instead of taking turns.
    """
    source = "cgroup quota and affinity"
    raw = os.environ.get("WORKBENCH_THREADS", "").strip()
    if cpus is None and raw.isdigit() and int(raw) > 0:
        cpus, source = int(raw), "WORKBENCH_THREADS"
    elif cpus is None:
        cpus = usable_cpus()
    else:
        source = "given"
    cpus = max(1, int(cpus))
    return {"cpus": cpus, "intra_op": cpus, "inter_op": max(2, cpus), "source": source}


def configure_threads(cpus: int | None = None) -> dict:
    """Size TensorFlow's thread pools (:func:`thread_counts`), once per process.

    Call it before the first TensorFlow op: ``train()``, ``resume()``, the CLI and the
    device check do. Afterwards TensorFlow keeps whatever it started with; then this
    logs and returns what is in force, with ``"applied": False``.

    Returns:
        ``{"cpus", "intra_op", "inter_op", "source", "applied"}``.
    """
    global _applied
    with _lock:
        if _applied is not None and cpus is None:
            return dict(_applied)
        import tensorflow as tf

        want = thread_counts(cpus)
        applied = True
        try:
            if tf.config.threading.get_intra_op_parallelism_threads() != want["intra_op"]:
                tf.config.threading.set_intra_op_parallelism_threads(want["intra_op"])
            if tf.config.threading.get_inter_op_parallelism_threads() < want["inter_op"]:
                tf.config.threading.set_inter_op_parallelism_threads(want["inter_op"])
        except RuntimeError as exc:  # TensorFlow already initialised: too late
            applied = False
            log.info("TensorFlow's thread pools were already set up; kept them (%s)", exc)
        result = {**want, "intra_op": tf.config.threading.get_intra_op_parallelism_threads()
                  or want["intra_op"],
                  "inter_op": tf.config.threading.get_inter_op_parallelism_threads()
                  or want["inter_op"], "applied": applied}
        _applied = result
        return dict(result)


def process_cpu_seconds() -> float:
    """User + system CPU seconds of this process so far (every thread)."""
    t = os.times()
    return t.user + t.system


BACKGROUND_NICE = 10   # Windows' "below normal" class, the level a background job runs at
_background: int | None = None


def background_level(current: int, level: int = BACKGROUND_NICE) -> int:
    """The niceness a background job started from a process at ``current`` runs at:
    ``level``, and always at least one below ``current`` (at most 19).

    Not ``current + 10`` as the ``nice`` command would: from a window that was itself
    started niced (a test suite at nice 10 on a shared machine) that made the training 19,
    and beside other nice-10 work it got almost no CPU (trainings that take seconds did
    not reach their first epoch in 3 minutes). Below the window is what keeps the
    window's GUI thread first; ``level`` is how far below a normal process.
    """
    return min(19, max(level, current + 1))


def run_in_background(level: int = BACKGROUND_NICE) -> int | None:
    """Lower this process's CPU priority to :func:`background_level` (nice ``level``,
    below the priority it was started at), once: later calls change nothing. Returns the
    niceness now, or None where it could not be changed.

    The app starts its trainings this way (``train --background``). On 2 cores a training
    at the window's priority keeps both busy, and the GUI thread waits behind it for a
    core: its 10 ms timer ticks were 5-20 ms late while painting the thumbnail grid
    (docs/BENCHMARKS.md section 14). As a background job the training still gets every
    cycle the window does not use, so on an otherwise idle machine it is not slower.

    Linux keeps a niceness per thread and a new thread inherits its creator's: every
    thread that exists now (the BLAS pool started by NumPy's import) is lowered, and the
    ones TensorFlow starts later inherit it. Windows: the process's class becomes
    BELOW_NORMAL (its threads follow it).
    """
    global _background
    if _background is not None:
        return _background
    if sys.platform == "win32":
        try:
            import ctypes

            kernel32 = ctypes.windll.kernel32
            BELOW_NORMAL_PRIORITY_CLASS = 0x4000
            if not kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), BELOW_NORMAL_PRIORITY_CLASS):
                log.warning("Could not lower this process's priority (SetPriorityClass failed)")
                return None
        except (OSError, AttributeError) as exc:
            log.warning("Could not lower this process's priority: %s", exc)
            return None
        _background = level
        return _background
    target = background_level(os.getpriority(os.PRIO_PROCESS, 0), level)
    try:
        tasks = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:   # no /proc (macOS: the niceness is the process's)
        tasks = [0]
    for tid in tasks:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < target:
                os.setpriority(os.PRIO_PROCESS, tid, target)
        except ProcessLookupError:   # a thread that has just ended
            continue
        except OSError as exc:
            log.warning("Could not lower the priority of thread %d: %s", tid, exc)
            return None
    _background = os.getpriority(os.PRIO_PROCESS, 0)
    return _background
