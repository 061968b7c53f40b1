"""Large previews decoded ahead of the labelling view's selection, on the app's pool.

The labelling view says which images it will show next (:meth:`PreviewAhead.want`,
nearest first, on every move of the selection); ``THREADS`` tasks on the app pool take
them one at a time from a shared queue and hand each decoded preview back to the GUI
thread as soon as it is ready (not a batch at the end: with a key held down the
selection moves ~40 times a second, and a batch of 8 arrived after half of it had been
passed). Each ``want`` replaces the queue, so images the selection has passed are never
decoded. Ownership: the queue, the in-flight set and the cancel event are plain data
shared with the pool tasks under one lock; the cache, the callbacks and this object live
on the GUI thread, which alone creates pixmaps. The task also makes each preview's
``QImage``, scaled to the size it is shown at (``qimage``): converting and smooth-scaling
took ~2-3 ms of the GUI thread per key press, and a ``QImage`` may be made on another
thread. It is handed over once through ``Pool.post`` and from then on only the GUI
thread touches it (one cancelled before the handover is freed by its own task). A task ends when the
queue is empty or at the next image after :meth:`clear` / :meth:`shutdown` set its
cancel event; :meth:`shutdown` waits for it.
"""
from __future__ import annotations

import collections
import threading
import time
import weakref

from workbench.workers.dataset import preview_data
from workbench.workers.pool import app_pool, call_weak
from workbench.workers.qimages import fitted_qimage

THREADS = 2          # previews decoded at once (the thumbnails use two more of the pool's 4)
CACHE_PREVIEWS = 32  # decoded previews kept (each fits the preview box: ~1 MB)


def _decode_ahead(pool, wanted, inflight, lock, cancel, generation: int, deliver, done) -> None:
    """A pool thread: decode queued previews one by one (no Qt object here) and post each
    one to the GUI thread (``deliver``/``done``: weak methods of the GUI-thread owner)."""
    try:
        while not cancel.is_set():
            with lock:
                if not wanted:
                    return
                path, box, fit = wanted.popleft()
                inflight.add(path)
            t0 = time.perf_counter()
            try:
                result = preview_data(path, box)
                if result["image"] is not None:
                    result["qimage"] = fitted_qimage(result["image"], fit)
            finally:
                with lock:
                    inflight.discard(path)
            result["box"], result["decode_s"] = box, time.perf_counter() - t0
            if cancel.is_set():
                return
            pool.post(call_weak, deliver, generation, result)
    finally:
        pool.post(call_weak, done, generation)


class PreviewAhead:
    """Previews decoded ahead (see the module docstring). GUI thread only.

    ``on_ready(result)`` is called on the GUI thread with each preview decoded
    (``preview_data``'s dict plus ``box``, ``decode_s`` and ``qimage``), after it is cached.
    """

    def __init__(self, on_ready, threads: int = THREADS) -> None:
        self.cache: "collections.OrderedDict[str, dict]" = collections.OrderedDict()
        self._on_ready = on_ready
        self._threads = threads
        self._lock = threading.Lock()
        self._wanted: "collections.deque[tuple[str, int]]" = collections.deque()
        self._inflight: set[str] = set()
        self._cancel = threading.Event()
        self._generation = 0
        self._running = 0
        self._futures: list = []
        self.decode_s = 0.0   # a running mean of one preview's decoding time (seconds)

    def get(self, path: str) -> dict | None:
        result = self.cache.get(path)
        if result is not None:
            self.cache.move_to_end(path)
        return result

    def keep(self, result: dict) -> None:
        self.cache[result["path"]] = result
        while len(self.cache) > CACHE_PREVIEWS:
            self.cache.popitem(last=False)

    def want(self, paths: list[str], box, fit: tuple[int, int] | None = None) -> None:
        """Decode these previews next, in this order, to fit ``box`` (``(width, height)``
        or a side), their ``qimage`` scaled to fit ``fit`` (the size shown; None: as
        decoded); replaces what was asked before."""
        with self._lock:
            self._wanted.clear()
            self._wanted.extend((p, box, fit) for p in paths
                                if p not in self.cache and p not in self._inflight)
        self._dispatch()

    def _dispatch(self) -> None:
        with self._lock:
            queued = len(self._wanted)
        pool = app_pool()
        while self._running < min(self._threads, queued):
            self._running += 1
            # Plain data and weak methods of this GUI-thread object: the task holds no Qt object.
            self._futures.append(pool.submit(
                _decode_ahead, pool, self._wanted, self._inflight, self._lock, self._cancel,
                self._generation, weakref.WeakMethod(self._delivered),
                weakref.WeakMethod(self._task_done)))
        self._futures = [f for f in self._futures if not f.done()]

    def in_flight(self, path: str) -> bool:
        with self._lock:
            return path in self._inflight or any(item[0] == path for item in self._wanted)

    def pending(self) -> bool:
        return self._running > 0

    def clear(self) -> None:
        """Forget the cache and stop the tasks at their next image (another dataset)."""
        self._cancel.set()
        with self._lock:
            self._wanted.clear()
        self._cancel = threading.Event()
        self._wanted = collections.deque()
        self._inflight = set()
        self._generation += 1
        self._running = 0
        self.cache.clear()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        from concurrent.futures import wait

        futures = self._futures
        self.clear()
        wait(futures, timeout=timeout_s)
        self._futures = []

    def _delivered(self, generation: int, result: dict) -> None:
        if generation != self._generation:
            return
        self.decode_s = 0.7 * self.decode_s + 0.3 * result["decode_s"] if self.decode_s else result["decode_s"]
        self.keep(result)
        self._on_ready(result)

    def _task_done(self, generation: int) -> None:
        if generation == self._generation:
            self._running = max(0, self._running - 1)
            self._dispatch()   # something may have been asked just as the task found none
