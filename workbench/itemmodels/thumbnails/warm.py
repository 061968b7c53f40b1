"""Thumbnails made ahead of the scroll, and decoded ones turned into pixmaps, a slice at a
time on the GUI thread.

A page of the Dataset grid that comes into view needs a tile for every item on it. Made
inside the paint (an in-memory array scaled with NumPy, then ``QPixmap.fromImage``:
~0.1-0.2 ms an item with the model's other roles), a new page of 28 items took 7 ms
median and up to 20 ms to paint, and the GUI thread's 10 ms timer ticks were that late:
paging Fashion-MNIST's 70,000 images, p99 9-18 ms (docs/BENCHMARKS.md section 14). So
:class:`Warmer` makes the tiles of the items just ahead of (and behind) what was painted
in slices of at most :data:`SLICE_S` on the GUI thread between other events, and the next
page paints from the cache (~1.5 ms). For images in files, warming queues their decode
behind the visible items' on the app pool; and :class:`Absorber` turns what the pool
decoded into pixmaps in the same bounded slices, never a whole batch in one event.

Both run on the GUI thread only (their timers are children of the model, which creates
and owns them); they hold plain row numbers and the decoded uint8 arrays, no thread
touches them.
"""
from __future__ import annotations

import collections
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

SLICE_S = 0.002   # the most a slice may take on the GUI thread
AHEAD = 96        # items made ahead of the last painted one (a page is 28-80 items)
BEHIND = 32       # ... and behind it (scrolling back up)


class _Slices(QObject):
    """A queue of small steps run on the GUI thread, at most :data:`SLICE_S` at a time,
    each slice on its own pass of the event loop (other events come between them)."""

    def __init__(self, parent: QObject, step: Callable) -> None:
        super().__init__(parent)
        self._step = step   # one item's work (a method of the model that owns this)
        self._todo: collections.deque = collections.deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._slice)
        self.slices = 0   # how many slices ran (tests)

    def clear(self) -> None:
        self._todo.clear()
        self._timer.stop()

    def pending(self) -> bool:
        return bool(self._todo)

    def _start(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _slice(self) -> None:
        todo = self._todo
        deadline = time.perf_counter() + SLICE_S
        self.slices += 1
        while todo:
            self._step(todo.popleft())
            if time.perf_counter() >= deadline:
                break
        if todo:
            self._timer.start()


class Warmer(_Slices):
    """Makes the model's thumbnails around the rows it was last asked to paint.

    The model calls :meth:`around` from ``data()`` when a painted row is not in the
    window warmed last time (:meth:`covers`), so a paint costs two comparisons per item
    and the slices run after it."""

    def __init__(self, parent: QObject, warm_row: Callable[[int], None],
                 row_count: Callable[[], int]) -> None:
        super().__init__(parent, warm_row)
        self._row_count = row_count
        self._lo = self._hi = 0   # rows in [_lo, _hi) are warm or queued

    def covers(self, row: int) -> bool:
        return self._lo <= row < self._hi

    def clear(self) -> None:
        super().clear()
        self._lo = self._hi = 0

    def around(self, row: int) -> None:
        """Warm the rows ahead of ``row``, then those behind it (nearest first)."""
        n = self._row_count()
        # Re-anchored once the painted rows come within half the window of its edges.
        self._lo, self._hi = row - BEHIND // 2, row + AHEAD // 2
        self._todo = collections.deque([*range(row + 1, min(n, row + 1 + AHEAD)),
                                        *range(row - 1, max(-1, row - 1 - BEHIND), -1)])
        self._start()


class Absorber(_Slices):
    """Turns decoded thumbnails (``(sample, uint8 array or None, error)``) into the
    model's pixmaps, a slice at a time (``absorb(sample, image, error)`` each)."""

    def __init__(self, parent: QObject, absorb: Callable) -> None:
        super().__init__(parent, lambda item: absorb(*item))

    def add(self, batch: list) -> None:
        self._todo.extend(batch)
        self._start()
