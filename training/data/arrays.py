"""``load_arrays``: every sample of an index decoded once into one uint8 array.

File sources are decoded in a process pool (decoding is CPU-bound Python + C; threads
measured no faster here because of the GIL) and stored in the on-disk cache, so the
second run of the same dataset decodes nothing. Array sources (IDX, npz) are only
resized / colour-converted.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from . import cache
from .decode import check_color_mode, decode_many, normalize_size, resize_array_images
from .index import BadFile, DatasetIndex

# Below these counts, starting worker processes costs more than it saves (measured here:
# spawn ~0.4 s, fork ~0.05 s for two workers; one 28x28 PNG decodes in ~60 us).
POOL_MIN_FILES = 2000
POOL_MIN_FILES_FORK = 300
_THREADED_LIBS = ("tensorflow", "PySide6", "PyQt5", "PyQt6", "torch", "jax")


@dataclass
class PreparedData:
    """Decoded samples, ready for ``tf.data``.

    Attributes:
        x: uint8 ``(N, h, w, c)``.
        y: int32 ``(N,)`` class indices.
        splits: uint8 ``(N,)`` ``TRAIN``/``VALIDATION``/``TEST``.
        rows: int64 ``(N,)`` row numbers into the index (files that failed are missing).
        classes: class names.
        cache_hit: True when the pixels came from the on-disk cache.
        decoded: number of files decoded by this call (0 on a cache hit).
        failures: the :class:`BadFile` entries this call added to ``index.bad_files``.
    """

    x: np.ndarray
    y: np.ndarray
    splits: np.ndarray
    rows: np.ndarray
    classes: list[str]
    cache_hit: bool = False
    decoded: int = 0
    failures: list[BadFile] = field(default_factory=list)

    def subset(self, split: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of one split."""
        keep = self.splits == split
        return self.x[keep], self.y[keep]


def _workers() -> int:
    raw = os.environ.get("WORKBENCH_DECODE_WORKERS", "")
    if raw.isdigit():
        return max(1, int(raw))
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use (containers)
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _start_method() -> str:
    """``fork`` only while this process runs a single thread, else ``spawn``.

    Forking a process with other threads (Qt, TensorFlow's C++ pools, which Python's
    thread count cannot see) can deadlock the child on a lock one of them held; a
    single-threaded process forks safely and ~0.35 s faster than spawning.
    """
    import sys
    import threading

    if sys.platform == "linux" and threading.active_count() == 1 \
            and not any(m in sys.modules for m in _THREADED_LIBS):
        return "fork"
    return "spawn"


def _chunk_size(n: int, mean_bytes: float, workers: int) -> int:
    """Files per task: ~16 MB of input each (so stop requests and progress stay prompt
    with big photos), at most 2048, and enough tasks to keep every worker busy."""
    by_bytes = int(16 * 2**20 / max(mean_bytes, 1))
    return max(8, min(2048, by_bytes, max(1, n // (workers * 4))))


def _decode_files(paths: list[str], size, color_mode: str, events=None, mean_bytes: float = 0):
    """Decode ``paths`` (serially or in a pool) with progress and stop checks."""
    h, w = size
    c = 1 if color_mode == "grayscale" else 3
    n = len(paths)
    x = np.zeros((n, h, w, c), np.uint8)
    failures: list[tuple[int, str]] = []
    workers = _workers()
    chunk = _chunk_size(n, mean_bytes, workers)
    starts = list(range(0, n, chunk))
    done = 0

    def collect(start, result):
        nonlocal done
        imgs, fails = result
        x[start:start + len(imgs)] = imgs
        failures.extend((start + i, r) for i, r in fails)
        done += len(imgs)
        if events is not None:
            events.on_progress(done, n, "Decoding images")

    method = _start_method()
    if workers == 1 or n < (POOL_MIN_FILES_FORK if method == "fork" else POOL_MIN_FILES):
        for start in starts:
            if events is not None:
                events.check_stop()
            collect(start, decode_many(paths[start:start + chunk], size, color_mode))
        return x, failures

    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context(method))
    try:
        pending = {}
        queue = list(starts)
        while queue or pending:
            while queue and len(pending) < workers * 2:  # a short queue keeps stop quick
                s = queue.pop(0)
                pending[s] = pool.submit(decode_many, paths[s:s + chunk], size, color_mode)
            first = min(pending)
            collect(first, pending.pop(first).result())
            if events is not None:
                events.check_stop()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    failures.sort()
    return x, failures


def load_arrays(index: DatasetIndex, size, color_mode: str = "rgb", events=None, *,
                use_cache: bool = True) -> PreparedData:
    """Decode every sample of ``index`` once, at ``size`` and ``color_mode``.

    Args:
        index: from :func:`open_dataset`.
        size: ``(height, width)`` or an int.
        color_mode: ``"rgb"`` or ``"grayscale"``.
        events: optional :class:`training.events.Events`: ``on_progress(done, total,
            "Decoding images")`` per chunk, ``check_stop()`` between chunks (raises
            :class:`training.events.Stopped`).
        use_cache: read and write the on-disk cache (see :mod:`training.data.cache`).

    Returns:
        :class:`PreparedData`. Files that fail to decode are added to
        ``index.bad_files`` (once, however often this is called) and left out.
    """
    size = normalize_size(size)
    check_color_mode(color_mode)
    n = len(index)
    if index.arrays is not None:
        x = resize_array_images(index.arrays, size, color_mode)
        return PreparedData(x, index.labels.astype(np.int32), index.splits.astype(np.uint8),
                            np.arange(n, dtype=np.int64), list(index.classes))
    failures: list[tuple[int, str]] = []
    stats = []
    for i, p in enumerate(index.paths):
        try:
            st = os.stat(p)
            stats.append((st.st_size, st.st_mtime_ns))
            if st.st_size == 0:  # indexing does not stat; this loop must anyway (cache key)
                failures.append((i, "empty file (0 bytes)"))
        except OSError as e:
            stats.append((-1, -1))
            failures.append((i, f"cannot read file: {e.strerror or e}"))
    key = cache.make_key(index.paths, stats, size, color_mode)
    shape = (n,) + size + (1 if color_mode == "grayscale" else 3,)
    on_problem = events.on_status if events is not None else None
    hit = cache.load(key, shape, on_problem) if use_cache else None
    if hit is not None:
        x, failures = hit
        decoded = 0
    else:
        if events is not None:
            events.on_status(f"Decoding {n:,} images at {size[1]}x{size[0]} {color_mode}…")
        gone = {i for i, _ in failures}
        todo = [i for i in range(n) if i not in gone]
        mean_bytes = float(np.mean([stats[i][0] for i in todo])) if todo else 0.0
        x_part, part_failures = _decode_files([index.paths[i] for i in todo], size, color_mode, events,
                                              mean_bytes)
        if gone:
            x = np.zeros(shape, np.uint8)
            x[todo] = x_part
        else:
            x = x_part
        failures = sorted(failures + [(todo[i], r) for i, r in part_failures])
        decoded = len(todo)
        if use_cache:
            cache.store(key, x, failures, {"root": index.root, "size": list(size), "color_mode": color_mode})
    known = {b.path for b in index.bad_files}
    new_bad = []
    for i, reason in failures:
        path = index.paths[i]
        if path not in known:
            known.add(path)
            bad = BadFile(path, reason)
            index.bad_files.append(bad)
            new_bad.append(bad)
    rows = np.arange(n, dtype=np.int64)
    if failures:
        keep = np.ones(n, bool)
        keep[[i for i, _ in failures]] = False
        rows, x = rows[keep], x[keep]
    return PreparedData(x, index.labels[rows].astype(np.int32), index.splits[rows].astype(np.uint8),
                        rows, list(index.classes), cache_hit=hit is not None, decoded=decoded,
                        failures=new_bad)


def verify_images(index: DatasetIndex, events=None) -> list[BadFile]:
    """Decode every file once (at :func:`suggest_input`'s size, into the cache) to find the
    corrupt, truncated, empty and non-image files that indexing cannot see.

    For ``inspect``-style reports. Training at the suggested size afterwards reuses the
    cache, so this costs nothing extra there.

    Returns:
        The :class:`BadFile` entries added to ``index.bad_files`` by this call.
    """
    if index.arrays is not None:
        return []
    from .stats import suggest_input

    size, mode = suggest_input(index)
    return load_arrays(index, size, mode, events).failures
