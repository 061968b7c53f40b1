"""The decoded-image store: fixed-size uint8 records on disk, read through a memory map.

One store per (file list + each file's size and mtime + target size + colour mode), in
``<cache>/stores/<key>/``:

* ``meta.json``   - shape and key, written (atomically) before any record;
* ``images.u8``   - ``N`` records of ``h*w*c`` bytes, preallocated (so a full disk shows
  up at creation, never as a SIGBUS from a memory map later);
* ``state.u8``    - one byte per record: 0 not yet decoded, 1 decoded, 2 bad file;
* ``crc.u32``     - CRC-32 of each record, checked on every read (a flipped bit means
  that record is decoded again, never trusted);
* ``bad.jsonl``   - ``[row, reason]`` of each bad file, appended as they are found;
* ``manifest.json`` - written LAST, atomically, once every record is decided: a store
  without it is incomplete and is continued (after a crash) or re-checked, never
  trusted blindly. A record's state byte is written after its pixels and CRC, so a
  ``kill -9`` at any moment leaves records that are either complete or undecided.
* ``lock``        - ``fcntl.flock``: the writer holds it exclusively, readers of a
  complete store hold it shared; clearing the cache only deletes stores it can lock
  exclusively, so a store in use is never deleted. A process that finds another one
  writing reads the records already written and decodes the rest itself (streaming).

Nothing here reads a store whole: callers gather batches of rows from the map. The file
operations (space, positioned writes, locks of folders not opened, sizes) are
``training.data.store_files``.
"""
from __future__ import annotations

import errno
import json
import logging
import mmap as mmap_mod
import os
import threading
import time
import zlib

import numpy as np

from training.safefiles import write_json

from .store_files import (STORE_FILES, StoreFull, fcntl, fully_allocated, pwrite, preallocate,
                          read_json, remove, touch)

log = logging.getLogger(__name__)

STORE_VERSION = 2
UNKNOWN, OK, BAD = 0, 1, 2
RELEASE_BYTES = 64 * 2**20  # gathered bytes between releases of the map's resident pages
# Records are written through a writable memory map where the files' blocks are reserved
# (``fully_allocated``): a batch of 32 shuffled rows is then three NumPy assignments
# instead of 96 ``pwrite`` calls (210,000 in a first 28x28 epoch; with the CPU count found
# once, decoding its 70,000 PNGs took 1.5-3.4 CPU-s less, paired). False forces the
# per-record ``pwrite`` path (tests of that path).
MAP_WRITES = True


class ImageStore:
    """One store folder, opened by :func:`open_store`. Thread-safe for writes of distinct rows.

    Attributes:
        shape: ``(N, h, w, c)``.
        writable: this process holds the write lock and may add records.
        complete: every record is decided (the manifest exists).
    """

    def __init__(self, folder: str, key: str, shape: tuple[int, int, int, int]):
        self.folder, self.key, self.shape = folder, key, tuple(int(v) for v in shape)
        self.record = int(np.prod(self.shape[1:]))
        self.writable = self.complete = False
        self._lock_fd = None
        self._fds: dict[str, int] = {}
        self._images = self._state = self._crc = None
        self._write_lock = threading.Lock()
        self._mm = None
        self._wmaps = None  # writable (images, crc, state) maps, see MAP_WRITES
        self._touched = 0  # bytes gathered from the map since its pages were last released
        self.bad: dict[int, str] = {}
        self.damaged = 0  # records whose CRC did not match (decoded again)

    # -- opening ---------------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def _lock(self, kind) -> bool:
        if fcntl is None:
            return True
        try:
            fcntl.flock(self._lock_fd, kind | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _open(self, allow_write: bool) -> None:
        os.makedirs(self.folder, exist_ok=True)
        self._lock_fd = os.open(self._path("lock"), os.O_RDWR | os.O_CREAT, 0o644)
        manifest = read_json(self._path("manifest.json"))
        if self._valid_manifest(manifest) and self._sizes_ok() and self._lock(fcntl.LOCK_SH if fcntl else 0):
            self.complete = True
            self.bad = {int(r): str(why) for r, why in manifest.get("bad", [])}
            self._map()
            touch(self._path("manifest.json"))
            return
        if allow_write and self._lock(fcntl.LOCK_EX if fcntl else 0):
            self.writable = True
            manifest = read_json(self._path("manifest.json"))  # re-read under the lock
            if self._valid_manifest(manifest) and self._sizes_ok():
                self.complete = True
                self.bad = {int(r): str(why) for r, why in manifest.get("bad", [])}
            elif not (self._valid_meta() and self._sizes_ok()):
                self._create()
            else:
                self.bad = self._read_bad()
            self._map()
            if self.complete:
                self._downgrade()
            return
        # Another process is writing: read what it has written, decode the rest here.
        if self._valid_meta() and self._sizes_ok():
            self.bad = self._read_bad()
            self._map()
        else:
            self.close()
            raise StoreFull(errno.EBUSY, "the store is being created by another process")

    def _valid_manifest(self, m) -> bool:
        return isinstance(m, dict) and m.get("version") == STORE_VERSION and m.get("key") == self.key \
            and list(m.get("shape", [])) == list(self.shape)

    def _valid_meta(self) -> bool:
        m = read_json(self._path("meta.json"))
        return self._valid_manifest(m)

    def _sizes_ok(self) -> bool:
        n = self.shape[0]
        try:
            return (os.path.getsize(self._path("images.u8")) == n * self.record
                    and os.path.getsize(self._path("state.u8")) == n
                    and os.path.getsize(self._path("crc.u32")) == 4 * n)
        except OSError:
            return False

    def _create(self) -> None:
        """Fresh, preallocated files (raises StoreFull; leaves no half store then)."""
        n = self.shape[0]
        for name in STORE_FILES:
            remove(self._path(name))
        try:
            for name, nbytes in (("images.u8", n * self.record), ("state.u8", n), ("crc.u32", 4 * n)):
                fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    preallocate(fd, nbytes)
                    if name != "images.u8":  # zeros: "undecided"
                        os.ftruncate(fd, nbytes)
                finally:
                    os.close(fd)
            write_json(self._path("meta.json"), self._describe(), indent=None)
        except OSError:
            for name in STORE_FILES:
                remove(self._path(name))
            raise

    def _describe(self) -> dict:
        return {"version": STORE_VERSION, "key": self.key, "shape": list(self.shape)}

    def _map(self) -> None:
        n = self.shape[0]
        if n == 0:
            self._images = np.zeros(self.shape, np.uint8)
            self._state = np.zeros(0, np.uint8)
            self._crc = np.zeros(0, np.uint32)
            self._verified = np.zeros(0, bool)
            return
        # Plain ndarray views of the maps: np.memmap's subclass hooks cost more than the
        # gather itself for a batch of small images.
        images = np.memmap(self._path("images.u8"), np.uint8, "r", shape=self.shape)
        self._mm = getattr(images, "_mmap", None)
        self._images = np.asarray(images)
        self._state = np.asarray(np.memmap(self._path("state.u8"), np.uint8, "r", shape=(n,)))
        self._crc = np.asarray(np.memmap(self._path("crc.u32"), np.uint32, "r", shape=(n,)))
        self._verified = np.zeros(n, bool)  # records whose CRC matched once in this process
        if self.writable:
            for name in ("images.u8", "state.u8", "crc.u32"):
                self._fds[name] = os.open(self._path(name), os.O_RDWR)
            if MAP_WRITES and all(fully_allocated(fd) for fd in self._fds.values()):
                self._wmaps = (np.memmap(self._path("images.u8"), np.uint8, "r+", shape=(n, self.record)),
                               np.memmap(self._path("crc.u32"), np.uint32, "r+", shape=(n,)),
                               np.memmap(self._path("state.u8"), np.uint8, "r+", shape=(n,)))

    def _read_bad(self) -> dict[int, str]:
        out: dict[int, str] = {}
        try:
            with open(self._path("bad.jsonl"), encoding="utf-8") as f:
                for line in f:
                    try:
                        row, why = json.loads(line)
                        out[int(row)] = str(why)
                    except (ValueError, TypeError):
                        continue  # a line torn by a crash: that file is simply checked again
        except OSError:
            pass
        return out

    def _downgrade(self) -> None:
        if fcntl is not None and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)
        self.writable = False
        self._wmaps = None
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    # -- records ---------------------------------------------------------------------
    def states(self, rows: np.ndarray) -> np.ndarray:
        """State byte of each row (a copy; another process may be adding records)."""
        return np.asarray(self._state[rows]).copy()

    def undecided(self) -> np.ndarray:
        """Rows still to decode (read in slices: the state file is 1 byte per image)."""
        return np.flatnonzero(np.asarray(self._state) == UNKNOWN)

    def read(self, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Gather ``rows`` (all in state OK) into ``out``; returns a bool mask of the rows
        whose CRC matched (the others must be decoded again)."""
        rows = np.asarray(rows, np.int64)
        good = np.ones(len(rows), bool)
        if not len(rows):
            return good
        order = np.argsort(rows, kind="stable")  # ascending offsets read the file forwards
        out[order] = self._images[rows[order]]
        self._touched += len(rows) * self.record
        if self._touched >= RELEASE_BYTES:
            self._release_pages()
        check = np.flatnonzero(~self._verified[rows])  # each record is checked once
        if len(check):
            crcs = self._crc[rows[check]].tolist()
            flat = out.reshape(len(rows), -1)
            crc32 = zlib.crc32
            for i, want in zip(check.tolist(), crcs):
                if crc32(flat[i]) != want:
                    good[i] = False
            self._verified[rows[check[good[check]]]] = True
        bad = int((~good).sum())
        if bad:
            self.damaged += bad
            log.warning("decoded-image store %s: %d damaged record(s); decoding them again",
                        self.key[:12], bad)
        return good

    def _release_pages(self) -> None:
        """Drop this process's mapped pages of the images file (the page cache keeps them:
        touching them again is a minor fault). Without this, every page read through the
        map counts in the process's resident memory, so an epoch over a 10 GB store would
        show 10 GB of RSS although the memory is the kernel's cache."""
        self._touched = 0
        mm = self._mm
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap_mod, "MADV_DONTNEED"):
            try:
                mm.madvise(mmap_mod.MADV_DONTNEED)
            except (OSError, ValueError):
                log.debug("madvise failed", exc_info=True)

    def damaged_rows(self, chunk: int = 4096) -> np.ndarray:
        """Rows in state OK whose CRC does not match (checked on the map, no copy)."""
        ok = np.flatnonzero((np.asarray(self._state) == OK) & ~self._verified)
        flat = self._images.reshape(self.shape[0], -1) if self.shape[0] else None
        crc32, bad = zlib.crc32, []
        for s in range(0, len(ok), chunk):
            part = ok[s:s + chunk]
            crcs = np.asarray(self._crc[part])
            for r, c in zip(part.tolist(), crcs.tolist()):
                if crc32(flat[r]) != c:
                    bad.append(r)
                else:
                    self._verified[r] = True
            self._touched += len(part) * self.record
            if self._touched >= RELEASE_BYTES:
                self._release_pages()
        return np.asarray(bad, np.int64)

    def repair(self, row: int, image: np.ndarray) -> bool:
        """Rewrite one damaged record of a complete store when no other process has it open."""
        if self.writable:
            self.write(row, image)
            return True
        if fcntl is None or not self._lock(fcntl.LOCK_EX):
            return False
        try:
            data = np.ascontiguousarray(image, np.uint8).reshape(-1)
            for name, payload, off in (("images.u8", memoryview(data), row * self.record),
                                       ("crc.u32", np.uint32(zlib.crc32(data)).tobytes(), row * 4)):
                fd = os.open(self._path(name), os.O_RDWR)
                try:
                    pwrite(fd, payload, off)
                finally:
                    os.close(fd)
            return True
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_SH)

    def write(self, row: int, image: np.ndarray) -> None:
        """Add one decoded record (see :meth:`write_many`)."""
        self.write_many([int(row)], np.asarray(image)[None])

    def write_many(self, rows, images: np.ndarray) -> None:
        """Add decoded records ``images[i]`` for ``rows[i]`` (distinct rows): pixels, then
        CRCs, then states (a ``kill -9`` anywhere leaves each record complete or undecided).
        One NumPy assignment per file through the writable map, else three ``pwrite``s
        per record (files that may be sparse); the same bytes either way (tested)."""
        if not self.writable or not len(rows):
            return
        rows = np.asarray(rows, np.int64)
        data = np.ascontiguousarray(images, np.uint8).reshape(len(rows), self.record)
        crc32 = zlib.crc32
        crcs = np.fromiter((crc32(r) for r in data), np.uint32, len(rows))
        if self._wmaps is None:
            for r, d, c in zip(rows.tolist(), data, crcs):
                self._write_record(r, d, c)
        else:
            pixels, crc, state = self._wmaps
            pixels[rows] = data
            crc[rows] = crcs
            self._mark(state, rows)
        self._verified[rows] = True  # their CRCs were computed from these very pixels

    @staticmethod
    def _mark(state, rows) -> None:
        """The state bytes of a batch: written last (a test kills the process here)."""
        state[rows] = OK

    def _write_record(self, row: int, data: np.ndarray, crc) -> None:
        pwrite(self._fds["images.u8"], memoryview(data), row * self.record)
        pwrite(self._fds["crc.u32"], np.uint32(crc).tobytes(), row * 4)
        pwrite(self._fds["state.u8"], bytes([OK]), row)

    def write_bad(self, row: int, reason: str) -> None:
        if not self.writable:
            return
        with self._write_lock:
            self.bad[int(row)] = reason
            with open(self._path("bad.jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps([int(row), reason]) + "\n")
        pwrite(self._fds["state.u8"], bytes([BAD]), int(row))

    def finish(self) -> bool:
        """Write the manifest if every record is decided; True when the store is complete."""
        if self.complete:
            return True
        if not self.writable or len(self.undecided()):
            return False
        for m in self._wmaps or ():
            m.flush()  # msync: pages written through the map, then fsync below
        for fd in self._fds.values():
            os.fsync(fd)  # the records reach the disk before the manifest says they exist
        bad = self._read_bad()
        write_json(self._path("manifest.json"),
                           {**self._describe(), "bad": [[r, why] for r, why in sorted(bad.items())],
                            "created": time.time()})
        self.bad, self.complete = bad, True
        self._downgrade()
        return True

    def close(self) -> None:
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()
        self._wmaps = None
        self._images = self._state = self._crc = self._verified = self._mm = None
        if self._lock_fd is not None:
            try:
                os.close(self._lock_fd)  # releases the flock
            except OSError:
                pass
            self._lock_fd = None
        self.writable = False

    def __del__(self):  # a forgotten store must not keep its lock
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to tell
            pass



def open_store(root: str, key: str, shape, allow_write: bool = True) -> ImageStore:
    """Open (continue, or create) the store ``key`` under ``root``.

    Raises:
        StoreFull: no room on disk for a new store, or another process is creating it.
        OSError: the cache folder cannot be written.
    """
    store = ImageStore(os.path.join(root, key), key, shape)
    try:
        store._open(allow_write)
    except BaseException:
        store.close()
        raise
    return store
