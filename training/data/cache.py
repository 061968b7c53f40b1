"""On-disk cache of decoded images, so a dataset is decoded once, not once per run.

One entry per (file list + each file's size and mtime + target size + colour mode):
``<key>.npy`` (the uint8 images, failed files as black slots) and ``<key>.json`` (shape,
CRC-32 of the pixels, the decode failures). An entry that does not match its manifest
(truncated, bit-flipped, wrong shape) is deleted and rebuilt, never trusted. The cache
is bounded (``WORKBENCH_CACHE_MAX_MB``, default 4096): least recently used entries go
first. Only files this module wrote (``arrays/<64 hex>.npy|.json``) are ever deleted, so
pointing ``WORKBENCH_CACHE_DIR`` at a shared folder cannot lose anyone's data.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
import zlib

import numpy as np

CACHE_VERSION = 1  # bump when decode_image's output for the same file changes
DEFAULT_MAX_MB = 4096
_ENTRY_RE = re.compile(r"^[0-9a-f]{64}\.(npy|json)(\.tmp\d+)?$")


def cache_dir() -> str:
    """``$WORKBENCH_CACHE_DIR``, else the user's cache folder + ``image-workbench``."""
    env = os.environ.get("WORKBENCH_CACHE_DIR")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
        return os.path.join(base, "image-workbench", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/image-workbench")
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "image-workbench")


def _arrays_dir() -> str:
    return os.path.join(cache_dir(), "arrays")


def max_cache_bytes() -> int:
    raw = os.environ.get("WORKBENCH_CACHE_MAX_MB", "")
    try:
        mb = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int(max(mb, 0) * 1024 * 1024)


def make_key(paths: list[str], stats: list[tuple[int, int]], size: tuple[int, int], color_mode: str) -> str:
    """Hex key over the file list, each file's (size, mtime_ns), the target size and mode."""
    h = hashlib.sha256(json.dumps([CACHE_VERSION, list(size), color_mode]).encode())
    for p, (n, mtime) in zip(paths, stats):
        h.update(f"{p}\0{n}\0{mtime}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _crc(x: np.ndarray) -> int:
    view = memoryview(np.ascontiguousarray(x)).cast("B")
    crc, step = 0, 1 << 28
    for start in range(0, len(view), step):
        crc = zlib.crc32(view[start:start + step], crc)
    return crc


def _entry_paths(key: str) -> tuple[str, str]:
    d = _arrays_dir()
    return os.path.join(d, key + ".npy"), os.path.join(d, key + ".json")


def _remove(*paths: str) -> None:
    for p in paths:
        try:
            os.remove(p)
        except OSError:
            pass


def load(key: str, shape: tuple[int, ...], on_problem=None):
    """``(images, failures)`` for ``key`` if a valid entry exists, else None.

    Args:
        key: from :func:`make_key`.
        shape: the expected image array shape.
        on_problem: called with a message when an entry existed but was damaged.
    """
    npy, meta_path = _entry_paths(key)
    if not os.path.exists(meta_path):
        return None
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        problem = None
        if meta.get("cache_version") != CACHE_VERSION or meta.get("key") != key:
            problem = "manifest does not match"
        elif tuple(meta.get("shape", ())) != tuple(shape):
            problem = f"shape {meta.get('shape')} != {list(shape)}"
        else:
            x = np.load(npy, allow_pickle=False)
            if x.dtype != np.uint8 or x.shape != tuple(shape):
                problem = f"array is {x.dtype} {x.shape}"
            elif _crc(x) != meta.get("crc32"):
                problem = "checksum mismatch"
    except (OSError, ValueError, EOFError, TypeError, AttributeError) as e:
        problem = f"unreadable ({type(e).__name__}: {e})"
    if problem:
        _remove(npy, meta_path)
        if on_problem is not None:
            on_problem(f"decoded-image cache entry {key[:12]} is damaged ({problem}); rebuilding it")
        return None
    now = time.time()
    try:
        os.utime(meta_path, (now, now))  # mark as recently used for LRU eviction
    except OSError:
        pass
    failures = [(int(i), str(r)) for i, r in meta.get("failures", [])]
    return x, failures


def store(key: str, x: np.ndarray, failures: list[tuple[int, str]], info: dict | None = None) -> bool:
    """Write an entry atomically, then evict old ones; False if it was not cached.

    A failure to write (disk full, read-only folder) only costs the next run a re-decode.
    """
    if x.nbytes > max_cache_bytes():
        return False
    npy, meta_path = _entry_paths(key)
    tmp_npy, tmp_meta = f"{npy}.tmp{os.getpid()}", f"{meta_path}.tmp{os.getpid()}"
    meta = {"cache_version": CACHE_VERSION, "key": key, "shape": list(x.shape), "dtype": "uint8",
            "crc32": _crc(x), "failures": [[int(i), r] for i, r in failures], "created": time.time(),
            **(info or {})}
    try:
        os.makedirs(os.path.dirname(npy), exist_ok=True)
        with open(tmp_npy, "wb") as f:
            np.save(f, np.ascontiguousarray(x), allow_pickle=False)
        with open(tmp_meta, "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(tmp_npy, npy)
        os.replace(tmp_meta, meta_path)  # the manifest last: an entry without it is ignored
    except OSError:
        _remove(tmp_npy, tmp_meta, npy, meta_path)
        return False
    evict(keep=key)
    return True


def _entries() -> list[tuple[float, str, int]]:
    """``(last used, key, bytes)`` of every complete entry."""
    d = _arrays_dir()
    out = []
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for name in names:
        if name.endswith(".json") and _ENTRY_RE.match(name):
            key = name[:-5]
            npy, meta = _entry_paths(key)
            try:
                used = os.path.getmtime(meta)
                size = os.path.getsize(meta) + (os.path.getsize(npy) if os.path.exists(npy) else 0)
            except OSError:
                continue
            out.append((used, key, size))
    return out


def evict(keep: str | None = None) -> int:
    """Delete least recently used entries until the cache fits its bound; bytes freed."""
    limit = max_cache_bytes()
    entries = sorted(_entries())
    total = sum(size for _, _, size in entries)
    freed = 0
    for _used, key, size in entries:
        if total <= limit:
            break
        if key == keep:
            continue
        _remove(*_entry_paths(key))
        total -= size
        freed += size
    return freed


def cache_size() -> int:
    """Bytes used by decoded-image cache files."""
    d = _arrays_dir()
    total = 0
    try:
        with os.scandir(d) as it:
            for e in it:
                if _ENTRY_RE.match(e.name):
                    try:
                        total += e.stat().st_size
                    except OSError:
                        pass
    except OSError:
        return 0
    return total


def clear_cache() -> int:
    """Delete every decoded-image cache file (only those this module wrote); bytes freed."""
    d = _arrays_dir()
    freed = 0
    try:
        names = os.listdir(d)
    except OSError:
        return 0
    for name in names:
        if _ENTRY_RE.match(name):
            p = os.path.join(d, name)
            try:
                freed += os.path.getsize(p)
                os.remove(p)
            except OSError:
                pass
    return freed
