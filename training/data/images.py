"""``open_images``: every sample of an index at one size and colour mode, read in batches.

An :class:`ImageData` never holds the dataset in memory. A batch of rows is answered
from the memory-mapped store (:mod:`training.data.store`) where those rows are already
decoded, and decoded by the parallel reader (:mod:`training.data.reader`) where they are
not, which also fills the store. So the first epoch of a first run streams, in whatever
(shuffled) order training asks, and starts at once; later epochs and later runs read the
store. When the store does not fit the cache budget (or the disk is full, or another
process is writing it), rows are decoded on the fly every time, with the same reader.
Array sources (IDX, npz) are resized per batch from ``index.arrays``.

Files that turn out to be bad are dropped from the batch they were in and reported once
in ``index.bad_files``, with the same reasons whichever way they were found.
"""
from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import cache, reader
from . import store as store_mod
from .decode import check_color_mode, normalize_size, resize_array_images
from .index import BadFile, DatasetIndex
from .reader import decode_paths

log = logging.getLogger(__name__)


class ImageData:
    """Samples of ``index`` at ``size``/``color_mode``; see the module docstring.

    Attributes:
        rows: int64 index rows (all of them: bad files are dropped from their batch).
        y, splits: their labels (int32) and splits (uint8).
        classes: class names.
        mode: ``"store"`` (memory-mapped store), ``"stream"`` (decoded every time) or
            ``"arrays"`` (an array source).
        cache_hit: the store was complete when opened (nothing to decode).
        decoded: files decoded by this object so far.
        failures: the :class:`BadFile` entries this object added to ``index.bad_files``.
    """

    def __init__(self, index: DatasetIndex, size, color_mode: str = "rgb", events=None,
                 use_cache: bool = True, allow_write: bool = True):
        self.index, self.events = index, events
        self.size = normalize_size(size)
        self.color_mode = check_color_mode(color_mode)
        c = 1 if color_mode == "grayscale" else 3
        self.shape = self.size + (c,)
        self.classes = list(index.classes)
        self.store: store_mod.ImageStore | None = None
        self.cache_hit, self.decoded = False, 0
        self.failures: list[BadFile] = []
        self._lock = threading.Lock()
        self._bad: dict[int, str] = {}
        self._remaining = 0
        self._procs: reader.DecoderPool | None = None  # worker processes for a long decode
        self.warning: str | None = None
        n = len(index)
        if index.arrays is not None:
            self.mode = "arrays"
        else:
            self.mode = "stream"
            self._open_store(use_cache, allow_write)
        # Every row, bad ones included: they are dropped as batches are read. So the shuffled
        # order of a run (seeded over ``range(len(rows))``) is the same whether the bad files
        # were found before it (the store knows them) or during it (first run).
        self.rows = np.arange(n, dtype=np.int64)
        self.y = np.asarray(index.labels)[self.rows].astype(np.int32)
        self.splits = np.asarray(index.splits)[self.rows].astype(np.uint8)

    # -- opening -------------------------------------------------------------------
    def _status(self, message: str) -> None:
        log.info("%s", message)
        if self.events is not None:
            self.events.on_status(message)

    def _open_store(self, use_cache: bool, allow_write: bool) -> None:
        index = self.index
        stats = []
        for i, p in enumerate(index.paths):
            try:
                st = os.stat(p)
                stats.append((st.st_size, st.st_mtime_ns))
                if st.st_size == 0:  # indexing does not stat; the cache key needs it anyway
                    self._note_bad(i, "empty file (0 bytes)")
            except OSError as e:
                stats.append((-1, -1))
                self._note_bad(i, f"cannot read file: {e.strerror or e}")
        if not use_cache or not len(index):
            return
        key = cache.make_key(index.paths, stats, self.size, self.color_mode)
        shape = (len(index),) + self.shape
        need = len(index) * (int(np.prod(self.shape)) + 5)
        root = cache.stores_dir()
        exists = os.path.isdir(os.path.join(root, key))
        try:
            if not exists and not cache.make_room(need, keep=key):
                self.warning = (f"The decoded images ({need / 2**20:,.0f} MB) do not fit the cache budget "
                                f"({cache.max_cache_bytes() / 2**20:,.0f} MB); decoding them on the fly "
                                "every epoch instead.")
                self._status(self.warning)
                return
            self.store = store_mod.open_store(root, key, shape, allow_write)
        except store_mod.StoreFull as e:
            self.warning = f"Decoded-image store not used ({e.strerror or e}); decoding on the fly instead."
            self._status(self.warning)
            return
        except OSError as e:
            self.warning = f"Cannot write the decoded-image cache in {root} ({e.strerror or e}); " \
                           "decoding on the fly instead."
            self._status(self.warning)
            return
        self.mode = "store"
        self.cache_hit = self.store.complete
        for row, why in self.store.bad.items():
            self._note_bad(row, why)
        if not self.store.complete:
            if self.store.writable:  # files found unreadable by stat are decided already
                states = self.store.states(np.asarray(sorted(self._bad), np.int64))
                for row, state in zip(sorted(self._bad), states):
                    if state == store_mod.UNKNOWN:
                        self.store.write_bad(row, self._bad[row])
            self._remaining = len(self.store.undecided())
            if not self.store.writable:
                self._status("Another process is decoding this dataset; reading what it has "
                             "decoded and decoding the rest here.")

    # -- bad files -----------------------------------------------------------------
    def _note_bad(self, row: int, reason: str) -> None:
        with self._lock:
            if row in self._bad:
                return
            self._bad[row] = reason
            bad = record_bad(self.index, row, reason)
            if bad is not None:
                self.failures.append(bad)

    # -- reading -------------------------------------------------------------------
    def read(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """``(images uint8 (k, h, w, c), kept rows)`` for index ``rows``; bad files left out."""
        rows = np.asarray(rows, np.int64).reshape(-1)
        k = len(rows)
        if self.mode == "arrays":
            x = resize_array_images(self.index.arrays[rows], self.size, self.color_mode) if k \
                else np.zeros((0,) + self.shape, np.uint8)
            return x, rows
        x = np.empty((k,) + self.shape, np.uint8)
        keep = np.ones(k, bool)
        todo = np.arange(k)
        st = self.store
        repair: set = set()
        if st is not None:
            states = st.states(rows)
            ok = np.flatnonzero(states == store_mod.OK)
            if len(ok) == k:  # the usual case once the store is filled: gather straight into x
                good = st.read(rows, x)
                states[~good] = store_mod.UNKNOWN
                repair = set(np.flatnonzero(~good).tolist())
            elif len(ok):
                got = np.empty((len(ok),) + self.shape, np.uint8)
                good = st.read(rows[ok], got)
                x[ok] = got
                states[ok[~good]] = store_mod.UNKNOWN
                repair = set(ok[~good].tolist())
            todo = np.flatnonzero(states != store_mod.OK)
        known = [i for i in todo if int(rows[i]) in self._bad]
        for i in known:
            keep[i] = False
        todo = [i for i in todo if keep[i]]
        if todo:
            buf = np.empty((len(todo),) + self.shape, np.uint8)
            paths = [self.index.paths[int(rows[i])] for i in todo]
            decoded_now = 0
            fresh = []  # positions in buf of new records: stored together after the loop
            pool = self._decoder_pool()
            decode = pool.decode if pool is not None else decode_paths
            for j, reason in decode(paths, self.size, self.color_mode, buf):
                row = int(rows[todo[j]])
                decoded_now += 1
                if reason is None:
                    x[todo[j]] = buf[j]
                    if todo[j] in repair:
                        st.repair(row, buf[j])
                    elif st is not None:
                        fresh.append(j)
                else:
                    keep[todo[j]] = False
                    self._note_bad(row, reason)
                    if st is not None and st.writable:
                        st.write_bad(row, reason)
                        self._count_written()
            if fresh:
                self._store_write(rows[np.asarray(todo)[fresh]], buf[fresh])
            with self._lock:
                self.decoded += decoded_now
        if keep.all():
            return x, rows
        return x[keep], rows[keep]

    def _decoder_pool(self) -> reader.DecoderPool | None:
        """Worker processes while many files are left to decode (a first epoch; every epoch
        when streaming), started by the first read that needs them."""
        with self._lock:
            if self._procs is not None:
                return None if self._procs.broken else self._procs
            writing = self.store is not None and self.store.writable and not self.store.complete
            left = self._remaining if writing else (len(self.index) if self.store is None
                                                    or not self.store.complete else 0)
            workers = reader.decode_processes()
            if workers < 1 or left < reader.PROCESS_MIN_FILES:
                return None
            self._procs = reader.DecoderPool(workers)
            return self._procs

    def _close_pool(self, cancel: bool) -> None:
        with self._lock:
            if self._procs is not None:
                self._procs.close(cancel)

    def reads_every_row(self, rows) -> bool:
        """Whether :meth:`read` returns every one of ``rows``: an array source, or a
        complete store with none of them bad (nothing left to decode and fail). The input
        pipeline then reads several batches at once (``training.data.pipeline``)."""
        if self.mode == "arrays":
            return True
        if self.mode != "store" or self.store is None or not self.store.complete:
            return False
        unusable = self.index.unusable
        return not unusable or not np.isin(np.asarray(rows, np.int64),
                                           np.fromiter(unusable, np.int64, len(unusable))).any()

    def _store_write(self, rows: np.ndarray, images: np.ndarray) -> None:
        if not self.store.writable:
            return
        try:
            self.store.write_many(rows, images)
        except OSError as e:  # a full disk (sparse file systems) or a vanished folder
            self.store.writable = False
            self._status(f"Stopped writing the decoded-image cache ({e.strerror or e}); "
                         "decoding on the fly instead.")
            return
        self._count_written(len(rows))

    def _count_written(self, n: int = 1) -> None:
        with self._lock:
            self._remaining -= n
            done = self._remaining <= 0
        if done:
            self.finish()

    def finish(self) -> bool:
        """Seal the store when every record is decided (called automatically)."""
        if self.store is None:
            return False
        try:
            done = self.store.finish()
            if done:
                self._close_pool(cancel=False)  # nothing left to decode
            return done
        except OSError as e:
            log.warning("could not finish the decoded-image store: %s", e)
            return False

    def batches(self, rows, batch_size: int, read_ahead: int = 2):
        """Yield ``(images, labels, kept rows)`` for index ``rows`` in order, reading the
        next ``read_ahead`` batches while the caller works on one."""
        rows = np.asarray(rows, np.int64)
        starts = list(range(0, len(rows), max(1, int(batch_size))))
        labels = np.asarray(self.index.labels)
        with ThreadPoolExecutor(1, thread_name_prefix="workbench-batches") as ex:
            pending = [ex.submit(self.read, rows[s:s + batch_size]) for s in starts[:read_ahead]]
            nxt = len(pending)
            while pending:
                x, kept = pending.pop(0).result()
                if nxt < len(starts):
                    s = starts[nxt]
                    pending.append(ex.submit(self.read, rows[s:s + batch_size]))
                    nxt += 1
                yield x, labels[kept].astype(np.int32), kept

    def split_rows(self, split: int) -> np.ndarray:
        return self.rows[self.splits == split]

    def split_batches(self, split: int, batch_size: int):
        """:meth:`batches` over one split (the evaluation API shared with ``PreparedData``)."""
        return self.batches(self.split_rows(split), batch_size)

    def dataset(self, rows, batch_size: int, shuffle: bool = False, seed: int = 0):
        """A ``tf.data.Dataset`` of ``(uint8 images, int32 labels)`` batches over ``rows``."""
        from .pipeline import rows_dataset

        return rows_dataset(self, rows, batch_size, shuffle, seed)

    def fill(self, events=None, chunk: int = 256, what: str = "Decoding images") -> list[BadFile]:
        """Decode every row not decided yet (fills the store; in stream mode only checks the
        files). Progress ``on_progress(done, total, what)``, ``check_stop()`` between chunks.
        Returns the bad files found by this object so far."""
        events = events or self.events
        if self.mode == "arrays":
            return []
        rows = np.arange(len(self.index), dtype=np.int64)
        if self.store is not None:
            rows = self.store.undecided()
        rows = np.array([r for r in rows if int(r) not in self._bad], np.int64)
        total = len(rows)
        if events is not None and total:
            events.on_status(f"Decoding {total:,} images at {self.size[1]}x{self.size[0]} {self.color_mode}…")
        for done, _ in enumerate(self.batches(rows, chunk), 1):
            if events is not None:
                events.on_progress(min(done * chunk, total), total, what)
                events.check_stop()
        self.finish()
        return list(self.failures)

    def close(self) -> None:
        """Seal the store if complete, stop any decoding processes, release the lock."""
        self._close_pool(cancel=True)
        if self.store is not None:
            self.finish()
            self.store.close()
            self.store = None
            if self.mode == "store":
                self.mode = "stream"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def record_bad(index: DatasetIndex, row: int, reason: str) -> BadFile | None:
    """Mark ``row`` of ``index`` unusable (left out of counts and training) and list it in
    ``index.bad_files`` with ``reason``; returns the new entry (None if already listed).
    The one place that does it: the reader, and the app for what the compute service's
    check found in its own copy of the index."""
    index.unusable.add(int(row))
    path = index.paths[row]
    if any(b.path == path for b in index.bad_files):
        return None
    bad = BadFile(path, reason)
    index.bad_files.append(bad)
    return bad


def open_images(index: DatasetIndex, size, color_mode: str = "rgb", events=None, *,
                use_cache: bool = True) -> ImageData:
    """The batch reader over ``index`` that training, evaluation, prediction on a split and
    feature extraction use (see :class:`ImageData`). Call ``close()`` when done."""
    return ImageData(index, size, color_mode, events, use_cache)


def verify_images(index: DatasetIndex, events=None) -> list[BadFile]:
    """Decode every file once (at :func:`suggest_input`'s size, into the store) to find the
    corrupt, truncated, empty and non-image files that indexing cannot see.

    For ``inspect``-style reports and the app's up-front check. Training at the suggested
    size afterwards reads the store, so this costs nothing extra there.

    Returns:
        The :class:`BadFile` entries added to ``index.bad_files`` by this call.
    """
    if index.arrays is not None:
        return []
    from .stats import suggest_input

    size, mode = suggest_input(index)
    with ImageData(index, size, mode, events) as data:
        return data.fill(events)
