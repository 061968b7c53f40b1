"""The recent datasets and runs, kept in memory and written to a small JSON file on the
app's pool, beside the settings file.

Why not ``QSettings``: a run's end adds the run to the recent list, and every
``QSettings.setValue`` makes Qt sync the whole settings file at the next pass of the event
loop, on the GUI thread (a lock file, a ``QSaveFile`` and its ``fdatasync``: 17 ms measured
in the middle of the GUI-lateness benchmark, BENCHMARKS section 14). ``QSettings`` is a
``QObject`` and must not be used off the GUI thread, so the lists that change while the
app works live here instead: the GUI thread changes the list in memory and returns; a
pool thread writes the newest state with the core's atomic JSON write. :meth:`flush`
writes synchronously (the window calls it through ``Settings.sync`` when it closes), so
nothing queued on the pool is lost at exit.

One store per file for the whole process (:func:`recent_file`): every panel's
``Settings`` sees the same lists, as ``QSettings`` objects on one file share one cache.
File: ``{"schema": 1, "datasets": [...], "runs": [...]}``; a missing file starts from the
lists the settings file held before (``recent/datasets``, ``recent/runs``).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from training.safefiles import UntrustedFileError, read_json, write_json

log = logging.getLogger(__name__)

SCHEMA = 1
KEYS = ("datasets", "runs")
MAX_BYTES = 256 * 1024   # a few hundred paths at most; anything bigger is not ours


class RecentFile:
    """The recent lists of one JSON file (create and change on the GUI thread)."""

    def __init__(self, path: str, legacy: Callable[[str], list[str]] | None = None,
                 limit: int = 8) -> None:
        self.path = path
        self.limit = limit
        self._data_lock = threading.Lock()    # held only to copy or change the lists
        self._write_lock = threading.Lock()   # one writer at a time (held through the fsync)
        self._version = 0
        self._written = 0
        self._data = self._load(legacy)

    def _load(self, legacy) -> dict[str, list[str]]:
        try:
            raw = read_json(self.path, MAX_BYTES)
        except UntrustedFileError as exc:   # missing (first start) or damaged: start over
            if not exc.missing:
                log.info("Ignoring the recent lists in %s: %s", self.path, exc)
            raw = None
        if isinstance(raw, dict) and raw.get("schema") == SCHEMA:
            return {k: [str(p) for p in raw.get(k, []) if isinstance(p, str)][:self.limit] for k in KEYS}
        return {k: (legacy(k) if legacy else [])[:self.limit] for k in KEYS}

    def items(self, key: str) -> list[str]:
        with self._data_lock:
            return list(self._data[key])

    def push(self, key: str, item: str) -> None:
        """Put ``item`` first in ``key``'s list and have a pool thread write the file."""
        with self._data_lock:
            items = [i for i in self._data[key] if i != item]
            self._data[key] = ([item] + items)[:self.limit]
            self._version += 1
        from workbench.workers.pool import app_pool

        try:
            app_pool().submit(self.flush)
        except RuntimeError:   # the pool has shut down (the app is closing): write now
            self.flush()

    def flush(self) -> None:
        """Write the newest lists now if they are not on disk yet (any thread). A full
        disk or a read-only folder is logged: it must not stop the app or its exit."""
        with self._write_lock:
            with self._data_lock:
                version = self._version
                data = {"schema": SCHEMA, **{k: list(v) for k, v in self._data.items()}}
            if version == self._written:
                return   # a later write already carried this change (or nothing changed)
            try:
                # The user's settings folder does not exist before Qt's first sync.
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                write_json(self.path, data)
            except OSError as exc:
                log.warning("Could not save the recent lists to %s: %s", self.path, exc)
                return
            self._written = version


_files: dict[str, RecentFile] = {}


def recent_file(path: str, legacy: Callable[[str], list[str]] | None = None,
                limit: int = 8) -> RecentFile:
    """The process's one store for ``path`` (loaded on first use, on the GUI thread)."""
    store = _files.get(path)
    if store is None:
        store = _files[path] = RecentFile(path, legacy, limit)
    return store
