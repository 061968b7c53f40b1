"""The decoded-image cache folder: where stores live, how big they may get, clearing it.

Each dataset (file list + each file's size and mtime + target size + colour mode) gets a
memory-mapped store (see :mod:`training.data.store`) under ``<cache>/stores/<key>/``.
The budget is disk space, not RAM: by default half of what is free on the cache's disk
(plus what the cache already uses); ``WORKBENCH_CACHE_MAX_MB`` overrides it. Least
recently used stores that no process has open are deleted to make room; a dataset that
does not fit is decoded on the fly every epoch instead. Only folders and files this
package wrote (``stores/<64 hex>/``, ``arrays/<64 hex>.npy|.json`` of the old format) are
ever deleted, so pointing ``WORKBENCH_CACHE_DIR`` at a shared folder cannot lose data.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil

from training.userdirs import user_folder

from . import store_files

log = logging.getLogger(__name__)

CACHE_VERSION = 3  # bump when decode_image's output for the same file changes
DEFAULT_FREE_SHARE = 0.5
_ENTRY_RE = re.compile(r"^[0-9a-f]{64}\.(npy|json)(\.tmp\d+)?$")  # the old, whole-array format
_STORE_RE = re.compile(r"^[0-9a-f]{64}$")


def cache_dir() -> str:
    """``$WORKBENCH_CACHE_DIR``, else the user's cache folder + ``image-workbench``."""
    return user_folder("cache")


def _arrays_dir() -> str:
    return os.path.join(cache_dir(), "arrays")


def stores_dir() -> str:
    return os.path.join(cache_dir(), "stores")


def _free_bytes(path: str) -> int:
    while path and not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        return shutil.disk_usage(path or ".").free
    except OSError:
        return 0


def max_cache_bytes() -> int:
    """The cache's budget in bytes: ``WORKBENCH_CACHE_MAX_MB``, else half the free disk
    space (counting what the cache already holds as free)."""
    raw = os.environ.get("WORKBENCH_CACHE_MAX_MB", "")
    try:
        if raw:
            return int(max(float(raw), 0) * 1024 * 1024)
    except ValueError:
        log.warning("WORKBENCH_CACHE_MAX_MB=%r is not a number; using the default budget", raw)
    return int(DEFAULT_FREE_SHARE * (_free_bytes(cache_dir()) + cache_size()))


def make_key(paths: list[str], stats: list[tuple[int, int]], size: tuple[int, int], color_mode: str) -> str:
    """Hex key over the file list, each file's (size, mtime_ns), the target size and mode."""
    h = hashlib.sha256(json.dumps([CACHE_VERSION, list(size), color_mode]).encode())
    for p, (n, mtime) in zip(paths, stats):
        h.update(f"{p}\0{n}\0{mtime}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _stores() -> list[tuple[float, str, int]]:
    """``(last used, folder, bytes)`` of every store folder."""
    root = stores_dir()
    out = []
    try:
        names = os.listdir(root)
    except OSError:
        return out
    for name in names:
        if not _STORE_RE.match(name):
            continue
        folder = os.path.join(root, name)
        try:
            used = max(os.path.getmtime(os.path.join(folder, f))
                       for f in ("manifest.json", "meta.json", "lock") if os.path.exists(os.path.join(folder, f)))
        except (OSError, ValueError):
            used = 0.0
        out.append((used, folder, store_files.folder_size(folder)))
    return out


def make_room(nbytes: int, keep: str | None = None) -> bool:
    """Delete least recently used stores nobody has open until ``nbytes`` more fit the
    budget; False when they cannot (the caller then streams)."""
    limit = max_cache_bytes()
    if nbytes > limit:
        return False
    entries = sorted(_stores())
    total = cache_size()
    for _used, folder, _size in entries:
        if total + nbytes <= limit:
            break
        if keep and os.path.basename(folder) == keep:
            continue
        freed = store_files.try_delete(folder)
        if freed is not None:
            log.info("evicted decoded-image store %s (%d bytes)", os.path.basename(folder), freed)
            total -= freed
    return total + nbytes <= limit


def evict(keep: str | None = None) -> int:
    """Delete least recently used, unused stores until the cache fits its budget; bytes freed."""
    before = cache_size()
    make_room(0, keep)
    return max(0, before - cache_size())


def stores_in_use() -> int:
    """How many stores some process (a training, an evaluation) has open right now."""
    return sum(store_files.in_use(folder) for _u, folder, _s in _stores())


def cache_size() -> int:
    """Bytes used by decoded-image stores (and old-format cache files)."""
    d = _arrays_dir()
    total = sum(store_files.folder_size(os.path.join(stores_dir(), n)) for n in _list(stores_dir())
                if _STORE_RE.match(n))
    try:
        with os.scandir(d) as it:
            for e in it:
                if _ENTRY_RE.match(e.name):
                    try:
                        total += e.stat().st_size
                    except OSError:
                        pass
    except OSError:
        return total
    return total


def _list(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def clear_cache() -> int:
    """Delete every decoded-image store nobody has open (and old-format cache files); bytes
    freed. A store in use (training, evaluation, the up-front check) is kept: see
    :func:`stores_in_use`; clear again when it has finished."""
    freed = 0
    for name in _list(stores_dir()):
        if _STORE_RE.match(name):
            got = store_files.try_delete(os.path.join(stores_dir(), name))
            if got is None:
                log.info("decoded-image store %s is in use; not cleared", name[:12])
            else:
                freed += got
    d = _arrays_dir()
    for name in _list(d):
        if _ENTRY_RE.match(name):
            p = os.path.join(d, name)
            try:
                freed += os.path.getsize(p)
                os.remove(p)
            except OSError:
                pass
    return freed
