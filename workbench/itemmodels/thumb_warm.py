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

from PySide6.QtCore import QObject, QTimer, Slot

SLICE_S = 0.002   # the most a slice may take on the GUI thread
AHEAD = 96        # items made ahead of the last painted one (a page is 28-80 items)
BEHIND = 32       # ... and behind it (scrolling back up)


class _Slices(QObject):
    """A queue of small steps run on the GUI thread, at most :data:`SLICE_S` at a time,
    each slice on its own pass of the event loop (other events come between them)."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self._model = model
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

    def _step(self, item) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

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

    The model calls :meth:`around` from ``data()`` when a painted row leaves the window
    warmed last time (``model._warm_lo <= row < model._warm_hi``), so a paint costs two
    comparisons per item and the slices run after it."""

    def around(self, row: int) -> None:
        """Warm the rows ahead of ``row``, then those behind it (nearest first)."""
        m = self._model
        n = len(m._rows)
        # Re-anchored once the painted rows come within half the window of its edges.
        m._warm_lo, m._warm_hi = row - BEHIND // 2, row + AHEAD // 2
        self._todo = collections.deque([*range(row + 1, min(n, row + 1 + AHEAD)),
                                        *range(row - 1, max(-1, row - 1 - BEHIND), -1)])
        self._start()

    def _step(self, row: int) -> None:
        m = self._model
        if 0 <= row < len(m._rows):
            m._warm(int(m._rows[row]))


class Absorber(_Slices):
    """Turns decoded thumbnails (``(sample, uint8 array or None, error)``) into the
    model's pixmaps, a slice at a time."""

    def add(self, batch: list) -> None:
        self._todo.extend(batch)
        self._start()

    def _step(self, item) -> None:
        self._model._absorb(*item)
