"""Measuring how the GUI thread keeps up, for the responsiveness benchmarks: a timer probe
that records how late each tick fires, running the event loop until a condition holds, a
sampler of the GUI thread's stack while it is late, a thread that competes for the GIL,
and the garbage collector's pauses.

Apart from ``bench/common.py`` (machine, timing, tables, data) because only the GUI
benchmarks need these and they need Qt; ``common`` re-exports them, so ``common.qt_probe``
and the like keep working in every script.
"""
from __future__ import annotations

import os
import sys
import time


def qt_probe(interval_ms: int = 10):
    """A ``QTimer`` on the calling (GUI) thread that records how late each tick fires.

    Returns an object with ``start()``, ``stop()``, ``times`` and ``late`` (milliseconds per tick:
    the gap since the previous tick minus ``interval_ms``). Qt does not replay missed
    ticks, so a 60 ms block of the GUI thread shows up as one tick 50 ms late.
    """
    from PySide6.QtCore import QObject, Qt, QTimer, Slot

    class Probe(QObject):
        def __init__(self):
            super().__init__()
            self.late: list[float] = []
            self.times: list[float] = []   # perf_counter() of each tick
            self.timer = QTimer(self)
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.setInterval(interval_ms)
            self.timer.timeout.connect(self._tick)
            self._last = None

        def start(self):
            self._last = time.perf_counter()
            self.timer.start()

        def stop(self):
            self.timer.stop()

        @Slot()
        def _tick(self):
            now = time.perf_counter()
            self.late.append(max(0.0, (now - self._last) * 1000 - interval_ms))
            self.times.append(now)
            self._last = now

    return Probe()


def qt_wait(condition, timeout_s: float, poll_ms: int = 2) -> bool:
    """Run the Qt event loop until ``condition()`` is true (checked every ``poll_ms``).

    Returns False on timeout. The event loop keeps running normally meanwhile, so this
    measures the app as a person would see it.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return True
    loop = QEventLoop()
    state = {"ok": False}

    def check():
        if condition():
            state["ok"] = True
            loop.quit()

    timer = QTimer()
    timer.setInterval(poll_ms)
    timer.timeout.connect(check)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    timer.start()
    deadline.start(int(timeout_s * 1000))
    loop.exec()
    timer.stop()
    deadline.stop()
    return state["ok"]


class StallSampler:
    """Samples the GUI thread's Python stack whenever a probe has not ticked for a while.

    A background thread looks every few milliseconds at ``probe.times``; when the last tick
    is older than ``threshold_ms`` it records the GUI thread's current stack. The most
    frequent stacks show what blocked the GUI thread (a Python slot, or ``exec`` alone when
    the time went to Qt's C++ code or to waiting for the GIL held by a worker thread).
    """

    def __init__(self, probe, threshold_ms: float = 30, every_ms: float = 5, depth: int = 8):
        import threading
        self.probe, self.threshold, self.every, self.depth = probe, threshold_ms / 1000, every_ms / 1000, depth
        self.main_id = threading.main_thread().ident
        self.samples: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        from bench.late_ticks import LateTickLog

        self.ticks = LateTickLog(probe)   # each late tick on its own (see tick_report)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)
        return False

    def _run(self):
        import traceback

        name = lambda f: f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"  # noqa: E731

        def stack_key():
            frame = sys._current_frames().get(self.main_id)
            if frame is None:
                return "(no frame)"
            stack = traceback.extract_stack(frame)
            # Entry points: the first frames the event loop called (a slot, a paintEvent);
            # they say who asked for the work. The innermost frames say what is slow.
            loop = max((i for i, f in enumerate(stack) if f.name in ("qt_wait", "exec", "main")), default=-1)
            entry = [name(f) for f in stack[loop + 1:loop + 3]]
            inner = [name(f) for f in reversed(stack[max(loop + 3, len(stack) - 2):])]
            return " > ".join(entry or [name(stack[-1])]) + ((" ... " + " < ".join(inner)) if inner else "")

        try:
            while not self._stop.wait(self.every):
                times = self.probe.times
                last = times[-1] if times else getattr(self.probe, "_last", None)
                if last is None:
                    continue
                now = time.perf_counter()
                key = None
                if now - last >= self.threshold:
                    key = stack_key()
                    self.samples[key] = self.samples.get(key, 0) + 1
                # One stack per look: the per-tick log reuses the one taken here.
                self.ticks.sample(now, last, lambda k=key: k if k is not None else stack_key())
        finally:
            self.ticks.close()

    def tick_report(self) -> str:
        """Each late tick on its own (bench.late_ticks): CPU, core wait, blocked, stacks."""
        return self.ticks.report()

    def report(self, top: int = 8) -> str:
        if not self.samples:
            return "(no stalls sampled)"
        total = sum(self.samples.values())
        lines = [f"{total} samples ({self.every * 1000:.0f} ms apart) while the GUI thread was "
                 f"more than {self.threshold * 1000:.0f} ms late; most frequent stacks (entry point > callee ... innermost < its caller):"]
        for key, n in sorted(self.samples.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"  {n:5d}  {key}")
        return "\n".join(lines)


class BusyPythonThread:
    """A thread running Python bytecode without pause, for as long as the block lasts.

    It stands for any worker busy in Python code (a chart render, Keras' Python side,
    the glue around decoding): it competes with the GUI thread for the GIL.
    """

    def __init__(self):
        import threading
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self):
        n = 0
        while not self._stop.is_set():
            n += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        return False


class GcPauses:
    """Records every cyclic garbage collection (``gc.callbacks``): a collection holds the
    GIL, so a long one stalls the GUI thread whichever thread triggered it."""

    def __init__(self):
        self.pauses: list[tuple[float, float, int]] = []   # (start, ms, generation)
        self._t0 = 0.0

    def _callback(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((self._t0, (time.perf_counter() - self._t0) * 1000,
                                info["generation"]))

    def __enter__(self):
        import gc
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        import gc
        gc.callbacks.remove(self._callback)
        return False

    def report(self) -> str:
        if not self.pauses:
            return "no collections"
        by_gen = {}
        for _, ms, gen in self.pauses:
            by_gen.setdefault(gen, []).append(ms)
        parts = [f"gen {g}: {len(v)} collections, max {max(v):.1f} ms, total {sum(v):.0f} ms"
                 for g, v in sorted(by_gen.items())]
        return "; ".join(parts)
