"""The parallel reader: many file reads in flight, decoding where it measures fastest.

Reading a cold file is latency bound (~370 us for a 28x28 PNG, of ~470 us in all; see
RESEARCH.md "Input pipelines"), so a pool of threads keeps ``READ_AHEAD`` reads in
flight. Decoding (``cv2.imdecode`` releases the GIL, Pillow mostly does) runs in
``decode_threads()`` threads: on 2 cores one decoding thread was measured fastest (more
threads fight over the GIL), so the pool's threads only read there and the caller's
thread decodes; with more cores the reading threads decode too.

One shared pool per process: threads are cheap to keep and costly to start per batch.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from training.cpus import usable_cpus

from .decode import decode_bytes
from .formats import DecodeError

log = logging.getLogger(__name__)

READ_AHEAD = 32  # reads in flight per reader call
INLINE_READ_S = 100e-6  # a read this fast came from the page cache: no thread hand-off needed
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


_cores: int | None = None


def cores() -> int:
    """The CPUs this process may use (affinity and cgroup quota: containers), found once:
    :func:`decode_threads` is asked once per batch, and reading the cgroup files took
    ~2 ms per call under load (4 of a first 28x28 epoch's 13 CPU seconds in a profile)."""
    global _cores
    if _cores is None:
        _cores = usable_cpus()
    return _cores


def decode_threads() -> int:
    """Threads that decode at once: ``WORKBENCH_DECODE_WORKERS``, else 1 on <= 2 cores,
    else one per core but one (left for training), at most 8."""
    raw = os.environ.get("WORKBENCH_DECODE_WORKERS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    n = cores()
    return 1 if n <= 2 else min(n - 1, 8)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(READ_AHEAD, 2 * decode_threads()),
                                       thread_name_prefix="workbench-read")
        return _pool


def read_bytes(path: str) -> bytes | DecodeError:
    """The file's bytes, or the DecodeError saying why it cannot be read (never raises)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return DecodeError(f"cannot read file: {e.strerror or e}")


def _decode_one(data, size, color_mode):
    if isinstance(data, DecodeError):
        return None, data.reason
    try:
        return decode_bytes(data, size, color_mode), None
    except DecodeError as e:
        return None, e.reason
    except Exception as e:
        log.debug("unexpected decode error", exc_info=True)
        return None, f"cannot decode ({type(e).__name__}: {e})"


def _read_decode(path, size, color_mode):
    return _decode_one(read_bytes(path), size, color_mode)


def decode_paths(paths: list[str], size, color_mode: str, out: np.ndarray):
    """Decode ``paths`` into ``out[i]``, reads in parallel; yields ``(i, reason | None)``
    in order as each file is done (a reason means the file is bad and ``out[i]`` is
    untouched).

    Where this thread decodes (``decode_threads() == 1``), it also reads the files itself
    for as long as each read is a page-cache hit (under ``INLINE_READ_S``): handing a
    300-byte PNG to a pool thread and back costs more than reading it (a profile of a
    first 28x28 epoch: 40% of the batch reader's time was waiting on futures of files
    already in memory). The first slow read hands the rest of the batch to the pool, with
    ``READ_AHEAD`` reads in flight, as cold files need.
    """
    if not len(paths):
        return
    decode_here = decode_threads() == 1
    start = 0
    if decode_here:
        clock = time.perf_counter
        while start < len(paths):
            t = clock()
            data = read_bytes(paths[start])
            slow = clock() - t > INLINE_READ_S
            arr, reason = _decode_one(data, size, color_mode)
            if arr is not None:
                out[start] = arr
            yield start, reason
            start += 1
            if slow:
                break
        if start >= len(paths):
            return
    pool = _shared_pool()
    job = read_bytes if decode_here else (lambda p: _read_decode(p, size, color_mode))
    pending = {}
    nxt = start
    for i in range(start, len(paths)):
        while nxt < len(paths) and nxt < i + READ_AHEAD:
            pending[nxt] = pool.submit(job, paths[nxt])
            nxt += 1
        result = pending.pop(i).result()
        arr, reason = _decode_one(result, size, color_mode) if decode_here else result
        if arr is not None:
            out[i] = arr
        yield i, reason
