"""The parallel reader: many file reads in flight, decoding where it measures fastest.

Reading a cold file is latency bound (~370 us for a 28x28 PNG, of ~470 us in all; see
RESEARCH.md "Input pipelines"), so a pool of threads keeps ``READ_AHEAD`` reads in
flight. Decoding (``cv2.imdecode`` releases the GIL, Pillow mostly does) runs in
``decode_threads()`` threads: on 2 cores one decoding thread was measured fastest (more
threads fight over the GIL), so the pool's threads only read there and the caller's
thread decodes; with more cores the reading threads decode too.

One shared pool per process: threads are cheap to keep and costly to start per batch.

With ``WORKBENCH_DECODE_PROCESSES=N`` a long decode (a first epoch of tens of thousands
of files) goes to N worker *processes* instead (:class:`DecoderPool`, owned by the
``ImageData`` that needs it): most of a small file's ~75 us is Python (reading, header
checks, bookkeeping), which holds the GIL, so threads cannot share it out. Workers run
the same :func:`decode_bytes` (the one decoder) and send the pixels back; the caller
writes them into the store, so the bytes are the same. Off by default: on this 2-core
machine, paired first 28x28 runs under load 9-14 were not faster with 2 workers (the
main process saved 4-5 CPU-s, the workers spent 4-6; TensorFlow's training is what the
second core was doing), and nothing with more cores has measured it yet
(docs/BENCHMARKS.md, "Issue 21, 28x28, first-epoch decoding").
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from training.cpus import usable_cpus

from .decode import decode_bytes
from .formats import DecodeError

log = logging.getLogger(__name__)

READ_AHEAD = 32  # reads in flight per reader call
# Files still to decode before worker processes are worth starting (~0.3 CPU-s each,
# ~0.1 ms of transfer per chunk); below it the threads above do the work.
PROCESS_MIN_FILES = 4096
MIN_CHUNK = 8  # files per worker task at least
INLINE_READ_S = 100e-6  # a read this fast came from the page cache: no thread hand-off needed
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


_cores: int | None = None


def cores() -> int:
    """The CPUs this process may use (affinity and cgroup quota: containers), found once:
    :func:`decode_threads` is asked once per batch, and reading the cgroup files took
    ~2 ms of wall time per call under load (2,189 calls in a first 28x28 epoch)."""
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


def decode_processes() -> int:
    """Worker processes for a long decode: ``WORKBENCH_DECODE_PROCESSES``, none by default
    (see the module docstring)."""
    raw = os.environ.get("WORKBENCH_DECODE_PROCESSES", "")
    return int(raw) if raw.isdigit() else 0


def decode_chunk(paths: list[str], size, color_mode: str, shape) -> tuple[np.ndarray, list]:
    """``(uint8 (k, *shape) pixels, [reason | None] * k)`` of ``paths``, decoded in this
    process (the task a :class:`DecoderPool` worker runs)."""
    out = np.zeros((len(paths), *shape), np.uint8)
    reasons = []
    for i, p in enumerate(paths):
        arr, reason = _read_decode(p, size, color_mode)
        if arr is not None:
            out[i] = arr
        reasons.append(reason)
    return out, reasons


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie not yet reaped by its parent counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but not ours to signal (not the case for our owner)
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return False  # no /proc (macOS): os.kill said it exists


def _orphan_watch(owner: int) -> None:
    """A worker whose owner (the training process) has gone must not stay behind. Its
    parent is the fork server, not the owner, and the fork server only leaves once the
    workers have (they hold its "owner alive" pipe), so the worker watches the owner."""
    while not _gone(owner):
        time.sleep(1.0)
    os._exit(0)


def _start_worker(owner: int) -> None:
    threading.Thread(target=_orphan_watch, args=(owner,), daemon=True).start()


class DecoderPool:
    """Worker processes decoding chunks of a batch (see the module docstring).

    Fork server on Linux (a process with TensorFlow's threads must not fork itself), spawn
    elsewhere. As with any multiprocessing pool, a worker imports the caller's main
    *script* again (not ``python -m`` modules): scripts keep ``if __name__ == "__main__"``.
    """

    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            # Not the default ["__main__"]: the fork server would import the caller's script.
            ctx.set_forkserver_preload([__name__])
        self.workers = int(workers)
        self.broken = False
        self._ex = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_start_worker,
                                       initargs=(os.getpid(),))

    def decode(self, paths: list[str], size, color_mode: str, out: np.ndarray):
        """As :func:`decode_paths` (same pixels, same reasons, same order), the files split
        among the workers. If the pool is closed or a worker died (killed, out of memory),
        the rest is decoded here and the pool is marked ``broken``."""
        n = len(paths)
        step = max(MIN_CHUNK, -(-n // self.workers))
        done = 0
        try:
            futures = [(s, self._ex.submit(decode_chunk, paths[s:s + step], size, color_mode,
                                           out.shape[1:])) for s in range(0, n, step)]
            for s, fut in futures:
                pixels, reasons = fut.result()
                for j, reason in enumerate(reasons):
                    if reason is None:
                        out[s + j] = pixels[j]
                    done = s + j + 1
                    yield s + j, reason
        except (BrokenProcessPool, CancelledError, RuntimeError) as e:
            if not self.broken:
                log.warning("decoding worker processes unavailable (%s); decoding here", e)
            self.broken = True
            for i, reason in decode_paths(paths[done:], size, color_mode, out[done:]):
                yield done + i, reason

    def pids(self) -> list[int]:
        """The worker processes' ids (started so far)."""
        return [p.pid for p in list((getattr(self._ex, "_processes", None) or {}).values())]

    def close(self, cancel: bool = True) -> None:
        """Stop the workers once their queued chunks are done (``cancel``: drop those)."""
        self.broken = True
        self._ex.shutdown(wait=False, cancel_futures=cancel)
