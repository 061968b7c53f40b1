"""Which thread held the GIL in one long piece, and where: a diagnostic for the
responsiveness benches (``gui_responsiveness.py --gil-holds``).

The late-tick log (:mod:`bench.late_ticks`) shows ticks where the GUI thread was blocked
30-60 ms while one pool thread ran: a call into C that does not let go of the GIL (a big
Agg draw of a chart, a decode) makes every other Python thread wait for its whole length,
whatever the switch interval. The log samples the GUI thread's stack only, and its sampler
needs the GIL too, so it cannot name that call.

This watcher is a thread that sleeps a few milliseconds at a time. Waking up, it needs
the GIL; when it got it much later than its sleep and its own wait for a core explain
(``/proc/<tid>/schedstat``), another thread held the GIL meanwhile. It then records which
of the process's Python threads ran most in that gap (their schedstat CPU time) and that
thread's Python stack at once: the holder let go of the GIL at the first bytecode after its
long C call, so its innermost frame is the line that made the call.

It takes the GIL itself every few milliseconds, so it is off in the A/B timing runs. Linux
only (it reads ``/proc``); elsewhere it records nothing.
"""
from __future__ import annotations

import os
import sys
import threading
import time

# One reader of /proc/<tid>/schedstat for both of the benches' thread watchers.
from bench.late_ticks import schedstat


def _stack(frame, depth: int = 10) -> str:
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{os.path.basename(code.co_filename)}:{code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(parts)


class GilHolds:
    """A context manager: while it is open, GIL holds of ``threshold_ms`` or more by
    another thread are recorded (:meth:`report`)."""

    def __init__(self, every_s: float = 0.004, threshold_ms: float = 10.0) -> None:
        self.every_s, self.threshold_ms = every_s, threshold_ms
        self.records: list[dict] = []
        self.looks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gil-holds", daemon=True)
        self._t0 = time.perf_counter()

    def __enter__(self):
        if os.path.isdir("/proc/self/task"):
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _open_threads(self, fds: dict) -> None:
        """Keep a schedstat file open for every Python thread (threads come and go)."""
        alive = {t.native_id: t for t in threading.enumerate() if t.native_id is not None}
        for tid in list(fds):
            if tid not in alive:
                os.close(fds.pop(tid)[2])
        for tid, t in alive.items():
            if tid not in fds and tid != threading.get_native_id():
                try:
                    fds[tid] = (t.name, t.ident, os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY))
                except OSError:
                    pass

    def _run(self) -> None:
        try:
            own = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
        except OSError:
            return
        fds: dict[int, tuple[str, int, int]] = {}
        try:
            self._open_threads(fds)
            count = threading.active_count()
            before = {tid: schedstat(fd)[0] for tid, (_n, _i, fd) in fds.items()}
            while not self._stop.is_set():
                if threading.active_count() != count:   # a thread began or ended: look again
                    self._open_threads(fds)
                    count = threading.active_count()
                    before = {tid: schedstat(fd)[0] for tid, (_n, _i, fd) in fds.items()}
                t0, wait0 = time.perf_counter(), schedstat(own)[1]
                time.sleep(self.every_s)
                t1 = time.perf_counter()
                wait = (schedstat(own)[1] - wait0) / 1e6
                over = (t1 - t0 - self.every_s) * 1000
                after = {tid: schedstat(fd)[0] for tid, (_n, _i, fd) in fds.items()}
                self.looks += 1
                if over - wait >= self.threshold_ms:
                    frames = sys._current_frames()
                    ran = sorted(((after[t] - before.get(t, after[t])) / 1e6, t) for t in after)
                    ms, tid = ran[-1] if ran else (0.0, 0)
                    name, ident, _fd = fds.get(tid, ("?", 0, 0))
                    self.records.append({
                        "at_s": t0 - self._t0, "held_ms": over - wait, "own_core_wait_ms": wait,
                        "holder": name, "holder_cpu_ms": ms,
                        "others": [(fds[t][0], round(m, 1)) for m, t in reversed(ran[:-1]) if m >= 1][:3],
                        "stack": _stack(frames.get(ident)),
                        "gui": _stack(frames.get(threading.main_thread().ident), 4)})
                before = after
        finally:
            os.close(own)
            for _n, _i, fd in fds.values():
                os.close(fd)

    def report(self, top: int = 15) -> str:
        if not self.records:
            return f"(no GIL hold of {self.threshold_ms:.0f} ms or more by another thread; {self.looks} looks)"
        lines = [f"{len(self.records)} waits of {self.threshold_ms:.0f} ms or more for the GIL by a watcher "
                 f"thread ({self.looks} looks, its own waits for a core taken out); the thread that ran most "
                 "meanwhile and its stack right after it let go (innermost first):"]
        for r in sorted(self.records, key=lambda r: -r["held_ms"])[:top]:
            others = ", ".join(f"{n} {ms}" for n, ms in r["others"]) or "none"
            lines.append(f"  {r['held_ms']:6.1f} ms at {r['at_s']:6.1f} s: {r['holder']} ran "
                         f"{r['holder_cpu_ms']:.1f} ms (others: {others}); core wait {r['own_core_wait_ms']:.1f}\n"
                         f"      {r['stack']}\n      GUI: {r['gui']}")
        return "\n".join(lines)
