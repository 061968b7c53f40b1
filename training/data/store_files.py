"""The decoded-image store's file operations (``training.data.store``): reserving disk
space, positioned writes, marking a store used, and what the cache asks of a store folder
it has not opened (is a process using it, delete it if not, its size on disk).

Apart from the store's records (``store.py``: the record layout, the memory map, CRCs,
the manifest) because these deal with the operating system's files and locks alone and
are shared with the cache (``training.data.cache``).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import threading
import time

try:  # POSIX; elsewhere stores work without inter-process locking
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

STORE_FILES = ("meta.json", "images.u8", "state.u8", "crc.u32", "bad.jsonl", "manifest.json")


class StoreFull(OSError):
    """The disk (or the cache budget) has no room for a store."""


def read_json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def preallocate(fd: int, nbytes: int) -> None:
    """Reserve ``nbytes`` on disk for ``fd`` (raises StoreFull when there is no room)."""
    if nbytes <= 0:
        return
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, nbytes)
        else:  # pragma: no cover - no fallocate: a sparse file, errors come from writes
            os.ftruncate(fd, nbytes)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise StoreFull(e.errno, f"no room for {nbytes / 2**20:.0f} MB of decoded images") from None
        if e.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            os.ftruncate(fd, nbytes)  # the file system cannot reserve space: sparse file
        else:
            raise


_seek_lock = threading.Lock()  # for systems without pwrite (Windows): seek + write


def pwrite(fd: int, data, offset: int) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        if hasattr(os, "pwrite"):
            n = os.pwrite(fd, view, offset)
        else:  # pragma: no cover - Windows
            with _seek_lock:
                os.lseek(fd, offset, os.SEEK_SET)
                n = os.write(fd, view)
        view, offset = view[n:], offset + n


def fully_allocated(fd: int) -> bool:
    """Whether every byte of ``fd``'s file has disk blocks reserved (``posix_fallocate``
    worked). Only then may the store write records through a memory map: a write into a
    hole of a sparse file on a full disk is a SIGBUS that kills the process, where
    ``pwrite`` would raise an OSError the reader can fall back from. False where the
    system does not say (no ``st_blocks``: Windows)."""
    st = os.fstat(fd)
    blocks = getattr(st, "st_blocks", None)
    return blocks is not None and blocks * 512 >= st.st_size


def touch(path: str) -> None:
    now = time.time()
    try:
        os.utime(path, (now, now))  # marks the store as recently used (LRU eviction)
    except OSError:
        pass


def remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def try_delete(folder: str) -> int | None:
    """Delete a store folder if no process uses it; bytes freed, or None when in use."""
    lock = os.path.join(folder, "lock")
    fd = None
    try:
        if fcntl is not None and os.path.exists(lock):
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return None
        size = folder_size(folder)
        shutil.rmtree(folder, ignore_errors=True)
        return size
    finally:
        if fd is not None:
            os.close(fd)


def in_use(folder: str) -> bool:
    """True when some process holds the store's lock."""
    lock = os.path.join(folder, "lock")
    if fcntl is None or not os.path.exists(lock):
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def folder_size(folder: str) -> int:
    total = 0
    for name in STORE_FILES:
        try:
            st = os.stat(os.path.join(folder, name))
            # Blocks, not length: a preallocated file uses its whole size from the start.
            total += max(st.st_size, getattr(st, "st_blocks", 0) * 512)
        except OSError:
            pass
    return total
