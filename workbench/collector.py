"""Python's garbage collector runs on the GUI thread only, from a timer; and the GIL
switch interval and the Qt thread-pool setting the GUI thread needs (see the end of this
docstring).

The collector normally runs on whichever thread happens to allocate. A collection that
frees a ``QObject`` in a reference cycle runs its destructor on that thread: on a worker
thread that deadlocked the app (the destructor waited for the GIL while holding Qt's
connection mutex, the GUI thread held the GIL and waited for that mutex) and crashed it
(a collection during a chart render). So, as calibre and pyqtgraph do, automatic
collection is turned off (``gc.disable()``) and :class:`GuiCollector` runs it from a
``QTimer`` on the GUI thread, generation by generation (pyqtgraph's
``GarbageCollector``): generation 0 every tick once its count passes the threshold,
older generations only when theirs do, so a tick usually costs well under a millisecond.
Reference counting still frees everything that is not in a cycle, at once, as before.

Code imported after start-up (scipy for the Auto choice, OpenCV for the first resize, a
panel's charts) is ~100,000 objects that live until exit; walking them made a
generation-1 collection cost ~150-250 ms here. So when ``sys.modules`` has grown since the
last tick, those objects are moved out of the collector's sight first (``gc.freeze()``,
O(1)): only what is young then is frozen with them, and a module is imported once, so
this happens a few times per session, at most :data:`MAX_FREEZES` (what a freeze pins
for good is the cyclic garbage-to-be of that moment: young garbage, and the artists of
charts drawn by then, which a redraw replaces).

Worker threads can't trigger a collection: automatic collection is off process-wide and
nothing in the app calls ``gc.collect()`` off the GUI thread; :attr:`GuiCollector.off_thread`
counts any collection that runs elsewhere anyway (``gc.callbacks``), and the tests check
it stays 0.

:func:`install` also sets the interpreter's GIL switch interval to
:data:`SWITCH_INTERVAL_S` (1 ms; Python's default is 5 ms). Each time Qt's event loop
calls into Python (a slot, a timer, a widget's Python ``paintEvent``), the GUI thread
must take the GIL; while a pool thread runs Python (a chart's matplotlib draw, thumbnail
work), a thread waiting for the GIL asks for it only after one switch interval. A
perf profile of the GUI thread's waits during the Start bench (``sched_switch`` with
stacks, docs/BENCHMARKS.md section 14, fourth pass) found GIL waits of ~5 ms each, several
in a row, making 164 of the 200 ms off-CPU inside the ticks that came more than 12 ms
late; at 1 ms they made 3 of 40 ms. The pool loses little: a hand-over costs
microseconds.

It also turns Qt's own GUI thread pool off (``QT_NO_GUI_THREADPOOL``, read when Qt first
needs the pool, so setting it here, before the first paint, is in time). Qt's raster
engine hands parts of large fills and image scaling to that pool and waits for them
(``QLatch``); on 2 busy cores those threads wait for a core while the GUI thread waits
for them: the same profile, paging the thumbnail grid during training, found those
waits in nearly every late tick (56 of 160 ms off-CPU in the ticks over 10 ms late).
Painting on the GUI thread alone costs it more CPU when cores are free.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)

INTERVAL_MS = 500
SWITCH_INTERVAL_S = 0.001   # see the module docstring
MAX_FREEZES = 12


class GuiCollector(QObject):
    """Turns automatic collection off and collects on the GUI thread (create it there).

    Attributes:
        off_thread: collections that ran on another thread (should stay 0).
        longest: the longest collection this collector ran, in seconds.
    """

    def __init__(self, parent=None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.gui_thread = threading.get_ident()
        self.off_thread = 0
        self.collections = 0
        self.freezes = 0
        self.longest = 0.0
        self.longest_by_generation = [0.0, 0.0, 0.0]
        self._modules = len(sys.modules)
        gc.disable()
        gc.callbacks.append(self._watch)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    @Slot()
    def check(self) -> int:
        """Collect the generations whose counts passed their thresholds; returns what was freed."""
        if gc.isenabled():   # something turned automatic collection back on
            gc.disable()
            log.warning("Automatic garbage collection was on again: turned it off")
        if len(sys.modules) != self._modules and self.freezes < MAX_FREEZES:
            self._modules = len(sys.modules)   # imports since the last tick: long-lived objects
            gc.freeze()
            self.freezes += 1
        l0, l1, l2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if l0 <= t0:
            return 0
        t = time.perf_counter()
        generation = 2 if l1 > t1 and l2 > t2 else 1 if l1 > t1 else 0
        # One collection of the oldest generation due (it includes the younger ones).
        freed = gc.collect(generation)
        took = time.perf_counter() - t
        self.collections += 1
        self.longest = max(self.longest, took)
        self.longest_by_generation[generation] = max(self.longest_by_generation[generation], took)
        return freed

    def stop(self) -> None:
        """Back to Python's own collector (tests that end the app's collector)."""
        self.timer.stop()
        if self._watch in gc.callbacks:
            gc.callbacks.remove(self._watch)
        gc.enable()

    def _watch(self, phase: str, info: dict) -> None:
        if phase == "start" and threading.get_ident() != self.gui_thread:
            self.off_thread += 1
            if self.off_thread == 1:
                log.warning("A garbage collection ran off the GUI thread (%s)",
                            threading.current_thread().name)


_collector: GuiCollector | None = None


def install(parent=None) -> GuiCollector:
    """The app's collector (made once, on the GUI thread: ``app.main()`` calls this),
    and the GIL switch interval the GUI thread needs (see the module docstring)."""
    global _collector
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    os.environ["QT_NO_GUI_THREADPOOL"] = "1"
    if _collector is None:
        _collector = GuiCollector(parent)
    return _collector


def installed() -> GuiCollector | None:
    return _collector
