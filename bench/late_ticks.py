"""What each late tick of the GUI-thread probe was made of, for the responsiveness benches.

The stall sampler (:class:`bench.gui_stalls.StallSampler`) counts the GUI thread's Python
stacks while it is late, summed over the run; most of those samples sit in the event loop's
idle wait with no Python frame, which cannot say whether the thread was working in C++,
waiting for a core or waiting for the GIL. This log keeps one record per late tick:

- the GUI thread's own scheduler accounting over the tick (``/proc/<tid>/schedstat``: CPU
  time, time runnable but waiting for a core); the rest of the wall time it was blocked
  (the GIL, a lock, a system call, or the event loop's idle wait);
- which of the process's threads ran meanwhile, by name, and how busy the whole machine
  was (``/proc/stat``: ``nice`` is the niced training process and niced neighbours);
- the GUI thread's Python stacks sampled during the tick, in order;
- the garbage collections that ran in it (the app collects on the GUI thread only, from a
  timer: a full collection is one long call there, with no stack to sample but its own).

Linux only (it reads ``/proc``); elsewhere it records nothing. The sampler thread does the
reading, never the GUI thread, so the probe's own ticks are not made longer by it.
"""
from __future__ import annotations

import collections
import os
import threading
import time

OPEN_MS = 8.0      # a tick this far overdue opens a record (threads are read from here on)
KEEP_MS = 15.0     # records of ticks at least this late are kept


def schedstat(fd: int) -> tuple[int, int]:
    """(CPU ns, run-queue wait ns) of a thread from its open ``schedstat`` file."""
    try:
        cpu, wait, _ = os.pread(fd, 128, 0).split()
        return int(cpu), int(wait)
    except (OSError, ValueError):
        return 0, 0


def _threads_cpu() -> dict[int, int]:
    """CPU ns of every thread of this process, by native thread id."""
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def _machine() -> list[int]:
    """The ``cpu`` line of /proc/stat: user nice system idle iowait irq softirq steal."""
    try:
        with open("/proc/stat", "rb") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def _thread_name(tid: int, names: dict[int, str]) -> str:
    if tid in names:
        return names[tid]
    try:
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as f:
            return f.read().strip() + f"/{tid}"
    except OSError:
        return str(tid)


class LateTickLog:
    """Records of late ticks, fed by a sampler thread's :meth:`sample` calls.

    ``probe`` is a :func:`bench.gui_stalls.qt_probe` (its ``times`` and ``late`` lists).
    """

    def __init__(self, probe) -> None:
        self.probe = probe
        self.records: list[dict] = []
        self.t0 = time.perf_counter()
        self._gui_tid = threading.main_thread().native_id
        try:
            self._fd = os.open(f"/proc/self/task/{self._gui_tid}/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None
        self._ring: collections.deque = collections.deque(maxlen=64)   # (t, cpu ns, wait ns)
        self._open: dict | None = None
        self._gc: list[tuple[float, float, int]] = []   # (start, end, generation)
        self._gc_start = 0.0
        import gc
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self._gc.append((self._gc_start, time.perf_counter(), info["generation"]))

    def close(self) -> None:
        import gc
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def sample(self, now: float, last_tick: float, stack_key) -> None:
        """One look (sampler thread): ``last_tick`` the probe's latest tick time;
        ``stack_key()`` the GUI thread's stack as a string (only called while late)."""
        if self._fd is None:
            return
        cpu, wait = schedstat(self._fd)
        self._ring.append((now, cpu, wait))
        rec = self._open
        if rec is not None and last_tick > rec["since"]:
            self._close(rec, now, cpu, wait)
            rec = self._open = None
        overdue_ms = (now - last_tick) * 1000
        if rec is None and overdue_ms >= OPEN_MS:
            before = [r for r in self._ring if r[0] <= last_tick]
            start = before[-1] if before else self._ring[0]
            rec = self._open = {"since": last_tick, "start": start, "opened": now,
                                "threads": _threads_cpu(), "machine": _machine(), "stacks": []}
        if rec is not None:
            rec["stacks"].append((round(overdue_ms), stack_key()))

    def _close(self, rec: dict, now: float, cpu: int, wait: int) -> None:
        times, late = self.probe.times, self.probe.late
        # The tick that ended the wait: the first one after the record's start.
        idx = next((i for i in range(len(times) - 1, -1, -1) if times[i] <= rec["since"]), -1) + 1
        if idx >= len(late) or late[idx] < KEEP_MS:
            return
        t_start, cpu0, wait0 = rec["start"]
        wall = (now - t_start) * 1000
        names = {t.native_id: t.name for t in threading.enumerate()}
        threads0, threads1 = rec["threads"], _threads_cpu()
        ran = sorted(((threads1[t] - threads0.get(t, threads1[t])) / 1e6, t) for t in threads1)
        machine0, machine1 = rec["machine"], _machine()
        d = [b - a for a, b in zip(machine0, machine1)]
        total = sum(d) or 1
        self.records.append({
            "late_ms": late[idx], "at_s": times[idx] - self.t0, "wall_ms": wall,
            "gui_cpu_ms": (cpu - cpu0) / 1e6, "gui_runq_ms": (wait - wait0) / 1e6,
            "threads_ms": [(_thread_name(t, names), ms) for ms, t in reversed(ran) if ms >= 1][:5],
            "threads_span_ms": (now - rec["opened"]) * 1000,
            "machine": {"busy": 1 - (d[3] + d[4]) / total if len(d) >= 5 else float("nan"),
                        "nice": d[1] / total if len(d) >= 2 else float("nan"),
                        "steal": d[7] / total if len(d) >= 8 else float("nan")},
            "gc": [(gen, (b - a) * 1000) for a, b, gen in self._gc if b > rec["since"] and a < times[idx]],
            "stacks": rec["stacks"]})

    def report(self, top: int = 12) -> str:
        if not self.records:
            return "(no ticks over %.0f ms late)" % KEEP_MS
        lines = [f"{len(self.records)} ticks at least {KEEP_MS:.0f} ms late. GUI thread over the tick "
                 "(wall from the sample before it to the one after, so it includes the probe's own "
                 "interval and up to two sampling periods of idle wait): CPU / waiting for a core / "
                 "blocked (the GIL, a lock, a system call, or the event loop's idle wait); threads that ran from "
                 f"{OPEN_MS:.0f} ms overdue on; machine busy and niced share (/proc/stat):"]
        for r in sorted(self.records, key=lambda r: -r["late_ms"])[:top]:
            blocked = r["wall_ms"] - r["gui_cpu_ms"] - r["gui_runq_ms"]
            m = r["machine"]
            ran = ", ".join(f"{n} {ms:.0f}" for n, ms in r["threads_ms"]) or "none"
            stacks = " | ".join(f"+{ms}: {key}" for ms, key in _squeeze(r["stacks"]))
            gcs = ", ".join(f"gen {g} {ms:.1f} ms" for g, ms in r["gc"]) or "none"
            lines.append(
                f"  {r['late_ms']:6.1f} ms late at {r['at_s']:6.1f} s: wall {r['wall_ms']:.0f} = cpu "
                f"{r['gui_cpu_ms']:.1f} + core wait {r['gui_runq_ms']:.1f} + blocked {blocked:.1f}; "
                f"machine busy {m['busy']:.0%} (niced {m['nice']:.0%}, steal {m['steal']:.0%}); "
                f"ran in the last {r['threads_span_ms']:.0f} ms: {ran}; collections: {gcs}\n      stacks {stacks}")
        return "\n".join(lines)


def _squeeze(stacks: list) -> list:
    """Consecutive samples with the same stack shown once (at their first time)."""
    out = []
    for ms, key in stacks:
        if not out or out[-1][1] != key:
            out.append((ms, key))
    return out
