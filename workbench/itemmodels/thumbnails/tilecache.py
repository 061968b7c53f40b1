"""The Dataset grid's thumbnails: a bounded cache of tiles, and the decoding of the files'
thumbnails on the app's thread pool.

An uncached file's thumbnail is queued; a few tasks on the app's pool
(:mod:`workbench.workers.pool`) pop the *newest* requests first (what is on screen now)
and send uint8 arrays back in batches; the GUI thread turns them into ``QPixmap``\\ s a
slice at a time (:class:`~workbench.itemmodels.thumbnails.warm.Absorber`), keeps them in
an LRU cache of ``CACHE_ITEMS`` and tells the model which sample changed. Arrays in
memory (IDX, npz) are tiny images already: their tiles are made on the spot.

:class:`TileCache` lives on the GUI thread (its timer and absorber are children of the
model that owns it); the pool's tasks get plain data and weak references to its methods.
"""
from __future__ import annotations

import collections
import threading
import time
import weakref
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QColor, QPixmap

from training.data import decode_to_fit
from workbench.itemmodels.thumbnails import tiles
from workbench.itemmodels.thumbnails.warm import Absorber
from workbench.workers.pool import app_pool, call_weak
from workbench.workers.qimages import image_to_qimage

CACHE_ITEMS = 1500     # ~45 MB of 88x88 ARGB pixmaps at most: 20+ pages to scroll back to
QUEUE_ITEMS = 600      # requests older than this were scrolled past; drop them

# Results go to the GUI thread in batches: each delivery is a Python slot call that must
# take the GIL, which costs up to a switch interval while other Python threads are busy.
# One batch per ~frame keeps thumbnails appearing smoothly with a few wake-ups per page.
BATCH_SECONDS = 0.03


def _decode_loop(pool, queue, lock, paths, cancel, generation: int, deliver, job_done) -> None:
    """A pool thread: pop requests from the shared LIFO queue until it is empty, decoding
    each to a uint8 array (no Qt object here), and hand batches to the GUI thread.

    ``deliver`` and ``job_done`` are weak references to the cache's methods: this thread
    must never hold the model (a QObject) itself, or it could end up freeing it."""
    batch, sent = [], time.monotonic()
    try:
        while not cancel.is_set():
            with lock:
                if not queue:
                    return
                row = queue.pop()
            try:
                img, err = decode_to_fit(paths[row], tiles.THUMB, enlarge=False), ""
            except Exception as exc:  # noqa: BLE001 - a bad file becomes an error tile
                # The core's reason ("not an image (the file holds text)"), never raw
                # exception text such as "UnidentifiedImageError: ...".
                img, err = None, getattr(exc, "reason", None) or "not a readable image"
            if cancel.is_set():
                return
            batch.append((row, img, err))
            if time.monotonic() - sent >= BATCH_SECONDS:
                pool.post(call_weak, deliver, generation, batch)
                batch, sent = [], time.monotonic()
    finally:
        if batch and not cancel.is_set():
            pool.post(call_weak, deliver, generation, batch)
        pool.post(call_weak, job_done, generation)


class TileCache:
    """The tiles of one model's samples (sample numbers index ``paths``).

    Args:
        parent: the model (a ``QObject`` on the GUI thread): parent of the timers.
        changed: ``changed(sample)``: a sample's tile (or its error) is in; repaint it.
        failed: ``failed(path, reason)``: a file could not be decoded.
        threads: how many of the app pool's threads may decode at once.
    """

    def __init__(self, parent: QObject, changed: Callable[[int], None],
                 failed: Callable[[str, str], None], threads: int = 2) -> None:
        self.cache: "collections.OrderedDict[int, QPixmap]" = collections.OrderedDict()
        self.errors: dict[int, str] = {}
        self.generation = 0
        self.placeholder = tiles.plain_tile(QColor(235, 235, 235))
        self.broken = tiles.broken_tile()
        self._changed, self._failed = changed, failed
        self._paths: list[str] = []
        self._index = None
        self._n = 0
        self._requested: set[int] = set()
        self._queue: "collections.deque[int]" = collections.deque()
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._running_jobs = 0
        self._threads = threads
        self._futures: list = []
        # Coalesce the data() requests of one paint into one dispatch.
        self._dispatch_timer = QTimer(parent)
        self._dispatch_timer.setSingleShot(True)
        self._dispatch_timer.setInterval(0)
        self._dispatch_timer.timeout.connect(self._dispatch)
        # Decoded tiles absorbed in bounded slices (workbench.itemmodels.thumbnails.warm).
        self.absorber = Absorber(parent, self._absorb)

    def set_source(self, index, paths: list[str]) -> None:
        """The samples of ``index`` (a ``DatasetIndex`` or None) and their files
        (``paths``: the index's, then excluded and unlabelled images); forgets every tile."""
        self.cancel()
        self._index, self._paths = index, paths
        self._n = len(index) if index is not None else 0
        self.cache.clear()
        self.errors.clear()

    def thumbnail(self, sample: int, wait: bool):
        """The cached pixmap; otherwise queue a decode and return a placeholder (``wait``)
        or None (so callers can tell "not yet")."""
        pix = self.cache.get(sample)
        if pix is not None:
            self.cache.move_to_end(sample)
            return pix
        if sample in self.errors:
            return self.broken
        pix = self.make(sample, visible=True)
        if pix is not None:
            return pix
        return self.placeholder if wait else None

    def make(self, sample: int, visible: bool) -> QPixmap | None:
        """An in-memory array's tile, made now and cached; for a file, its decode queued
        (None): a ``visible`` item's popped first, a warmed one's after every visible one."""
        arrays = self._index.arrays if self._index is not None else None
        if arrays is not None:
            if sample >= self._n:  # an excluded array row: its pixels left the index
                return None
            pix = QPixmap.fromImage(tiles.array_tile(arrays[sample]))
            self.cache[sample] = pix
            self._trim()
            return pix
        if sample not in self._requested:
            self._requested.add(sample)
            with self._lock:
                if visible:
                    self._queue.append(sample)   # LIFO: the newest request is popped first
                else:
                    self._queue.appendleft(sample)
                while len(self._queue) > QUEUE_ITEMS:
                    self._requested.discard(self._queue.popleft())
            if not self._dispatch_timer.isActive():
                self._dispatch_timer.start()
        return None

    def warm(self, sample: int) -> None:
        """Make ``sample``'s tile ahead of a paint unless it is cached or known bad."""
        if sample not in self.cache and sample not in self.errors:
            self.make(sample, visible=False)

    def pending(self) -> bool:
        """True while requested thumbnails are still being decoded or absorbed."""
        with self._lock:
            queued = bool(self._queue)
        return (queued or self._running_jobs > 0 or self._dispatch_timer.isActive()
                or self.absorber.pending())

    def cancel(self) -> None:
        """Drop every queued decode; the running jobs' results are ignored."""
        # Jobs of the old generation stop at their next item.
        self._cancel.set()
        with self._lock:
            # A fresh queue: old jobs keep (and drain nothing from) the old one.
            self._queue = collections.deque()
        self._requested.clear()
        self.generation += 1
        self._cancel = threading.Event()
        self._running_jobs = 0
        self.absorber.clear()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        from concurrent.futures import wait

        self.cancel()
        futures, self._futures = self._futures, []
        wait(futures, timeout=timeout_ms / 1000)

    def _dispatch(self) -> None:
        wanted = min(self._threads, len(self._queue))
        pool = app_pool()
        self._futures = [f for f in self._futures if not f.done()]
        while self._running_jobs < wanted:
            self._running_jobs += 1
            # Plain data and weak methods of this GUI-thread object (called back on the
            # GUI thread through the pool's post); the thread itself touches no Qt object.
            self._futures.append(pool.submit(
                _decode_loop, pool, self._queue, self._lock, self._paths, self._cancel,
                self.generation, weakref.WeakMethod(self.on_loaded),
                weakref.WeakMethod(self._on_job_done)))

    def on_loaded(self, generation: int, batch: list) -> None:
        """A decoded batch from the pool (GUI thread): absorbed a slice at a time."""
        if generation == self.generation:   # else filtered or reset meanwhile
            self.absorber.add(batch)

    def _absorb(self, sample: int, image, error: str) -> None:
        """A decoded thumbnail (or its error) into the cache; its item repaints."""
        self._requested.discard(sample)
        if image is None:
            self.errors[sample] = error
            self._failed(self._paths[sample], f"cannot be decoded ({error})")
        else:
            self.cache[sample] = tiles.square_tile(QPixmap.fromImage(image_to_qimage(image)))
            self._trim()
        self._changed(sample)

    def _on_job_done(self, generation: int) -> None:
        if generation != self.generation:
            return
        self._running_jobs = max(0, self._running_jobs - 1)
        # A request may have been queued just as the job found the queue empty.
        if self._queue and not self._dispatch_timer.isActive():
            self._dispatch_timer.start()

    def _trim(self) -> None:
        while len(self.cache) > CACHE_ITEMS:
            self.cache.popitem(last=False)
