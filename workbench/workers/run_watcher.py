"""Watch run folders on disk and say, as plain data, what changed in them.

One :class:`RunWatcher` watches the runs root (a run folder appearing or disappearing),
every run folder directly under it, and any extra folder someone follows (a CLI run or a
cluster run on shared storage, perhaps outside the root). It uses
``QFileSystemWatcher`` (inotify on Linux): the core writes each file atomically (temp
file + rename), so every write changes the folder's listing and the folder's own watch
fires. Bursts of events are coalesced for ``DEBOUNCE_MS``, and each dirty folder is then
compared with its last snapshot (names, sizes, modification times), so the signals say
exactly which files changed.

Network file systems (NFS, SMB, a cluster's shared storage) deliver no change events to
another machine, so the followed folders and the root are also re-scanned every
``POLL_MS`` (2 s; never faster than once a second): a few ``stat`` calls per folder.

Signals carry strings and lists only. The watcher itself lives on the GUI thread, but
its scans (``os.scandir`` and a ``stat`` per file) run on the app's pool
(:mod:`workbench.workers.pool`) and come back as plain dicts. A scan is well under a
millisecond of work, yet every ``readdir`` and ``stat`` releases the GIL, and on the GUI
thread each took it back only after the pool's busy thread (an epoch chart drawn when the
same epoch's files changed) let go: 25-100 ms late ticks on Start, in ``snapshot``
(docs/BENCHMARKS.md section 14). A folder's first snapshot too (``watch``, a new run):
until it is back the folder is *pending*; then its files modified since it was tracked
(less ``FIRST_SCAN_SLACK_NS``) are news once a change event says a write came after the
folder's watch began (before or after that scan): such a write is not lost.
"""
from __future__ import annotations

import logging
import os
import time
import weakref

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

from training.runs.runfolder import RUN_JSON, TRANSIENT_SUFFIXES
from workbench.workers.pool import app_pool, call_weak

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300      # coalesce a burst of writes (run.json is rewritten several times per epoch)
POLL_MS = 2000         # fallback re-scan for file systems without change events (>= 1 s)
MAX_ROOT_RUNS = 256    # watch at most this many run folders under the root (newest names)
MAX_SNAPSHOT = 4096    # entries of one folder looked at per scan (a run folder has ~20)
FIRST_SCAN_SLACK_NS = 2_000_000_000   # mtimes are coarse (a clock tick; 1-2 s on some file systems)


def norm_path(path: str) -> str:
    """``path`` absolute and case-normalised: the one way the app compares folders."""
    return os.path.normcase(os.path.abspath(os.fspath(path)))


def same_path(a, b) -> bool:
    """Whether two paths name the same folder or file (False when either is empty)."""
    return bool(a) and bool(b) and norm_path(a) == norm_path(b)


def snapshot(folder: str) -> dict[str, tuple[int, int]] | None:
    """``{name: (mtime_ns, size)}`` of the plain files in ``folder`` (None if it is gone).

    At most ``MAX_SNAPSHOT`` entries are looked at: a run folder holds a few dozen files,
    and a followed folder from shared storage that holds a million must not stall the GUI
    thread every re-scan (issue 25).
    """
    out: dict[str, tuple[int, int]] = {}
    try:
        with os.scandir(folder) as it:
            for n, entry in enumerate(it):
                if n >= MAX_SNAPSHOT:
                    log.info("%s holds more than %d entries; only those are watched", folder,
                             MAX_SNAPSHOT)
                    break
                if entry.name.endswith(TRANSIENT_SUFFIXES):
                    continue
                try:
                    if entry.is_file():
                        st = entry.stat()
                        out[entry.name] = (st.st_mtime_ns, st.st_size)
                except OSError:  # removed between listing and stat
                    continue
    except OSError:
        return None
    return out


def _subfolders(root: str) -> list[str]:
    try:
        with os.scandir(root) as it:
            names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False)
                           and not e.name.startswith("."))
    except OSError:
        return []
    return [os.path.join(root, n) for n in names[-MAX_ROOT_RUNS:]]


def _scan(root: str | None, folders: dict[str, str], old_listing=()) -> tuple:
    """Every file system call of a scan: the root's run folders (None: not asked), a snapshot
    of ``folders`` and of ``old_listing``'s gone from it, which of those are no folder now,
    and whether the root is a folder."""
    listing = _subfolders(root) if root is not None else None
    targets = dict(folders)
    if listing is not None:   # a run folder gone from the root: report its files removed
        listed = set(map(norm_path, listing))
        targets.update({key: folder for folder in old_listing
                        if (key := norm_path(folder)) not in listed and key not in targets})
    snaps = {key: snapshot(folder) for key, folder in targets.items()}
    gone = {key for key, snap in snaps.items() if snap is None and not os.path.isdir(targets[key])}
    return listing, snaps, gone, root is not None and os.path.isdir(root)


def _scan_job(pool, epoch: int, root, folders: dict, old_listing: list, done) -> None:
    """On a pool thread: plain data in, plain data posted back to ``done`` (a
    ``WeakMethod`` of the watcher: this thread must never hold the QObject itself)."""
    try:
        result = _scan(root, folders, old_listing)
    except Exception:   # snapshot handles OSError; anything else must not lose the watcher
        log.exception("Scanning run folders failed")
        result = (None, {}, set(), True)
    pool.post(call_weak, done, epoch, root, result)


class RunWatcher(QObject):
    """Watch the runs root and followed run folders (see module docstring).

    Args:
        root: the runs root to watch (None: nothing until :meth:`set_root`).
        debounce_ms / poll_ms: see ``DEBOUNCE_MS`` / ``POLL_MS``; ``poll_ms`` is raised
            to at least 1000.

    Signals:
        runsChanged(): a run folder appeared or disappeared under the root, or a
            ``run.json`` under it changed (status, epochs, test accuracy): re-list runs.
        runChanged(str, list): a watched run folder (its path as given to
            :meth:`watch`, or as found under the root) and the sorted names of the files
            added, changed or removed. A folder that was deleted reports every file it had.
    """

    runsChanged = Signal()
    runChanged = Signal(str, list)

    def __init__(self, root: str | None = None, parent=None, debounce_ms: int = DEBOUNCE_MS,
                 poll_ms: int = POLL_MS):
        super().__init__(parent)
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(self._on_directory_changed)
        self._root: str | None = None
        self._root_listing: list[str] = []
        self._followed: dict[str, str] = {}     # normalised -> as given
        self._follows: dict[str, int] = {}      # normalised -> watch() calls not yet undone
        self._known: dict[str, str] = {}        # normalised -> as given (root runs + followed)
        self._snapshots: dict[str, dict | None] = {}
        self._pending: dict[str, int] = {}   # first scan not back: key -> tracked since (ns)
        self._unsure: dict[str, set] = {}   # recent at the first scan: news if an event comes
        self._heard: set[str] = set()       # a change event since the folder's last scan was applied
        self._dirty: set[str] = set()
        self._root_dirty = False
        self._scanning = False   # a scan is on the pool; another flush waits for it
        self._again = False
        self._epoch = 0          # scans started before a stop()/check_now() are dropped
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(max(0, int(debounce_ms)))
        self._debounce.timeout.connect(self._flush)
        self._poll = QTimer(self)
        self._poll.setInterval(max(1000, int(poll_ms)))
        self._poll.timeout.connect(self._on_poll)
        if root:
            self.set_root(root)

    # ----------------------------------------------------------------- public API
    @property
    def root(self) -> str | None:
        return self._root

    def set_root(self, root: str | None) -> None:
        """Watch ``root`` (and the run folders in it) instead of the previous root."""
        if self._root is not None:
            self._remove_path(self._root)
            for key in [k for k in self._known if k not in self._followed]:
                self._forget(key)
        self._root = os.fspath(root) if root else None
        self._root_listing = []
        if self._root:
            self._root_listing = _subfolders(self._root)
            self._add_path(self._root)
            for folder in self._root_listing:
                self._track(folder)
            self._flush()   # their first snapshots, on the pool
        self._update_poll()

    def watch(self, run_dir: str) -> None:
        """Follow ``run_dir`` (anywhere, also on shared storage).

        Counted: several users (the selected run, the Training panel following a run)
        may watch one folder; it is followed until each has called :meth:`unwatch`.
        """
        if not run_dir:
            return
        key = norm_path(run_dir)
        self._follows[key] = self._follows.get(key, 0) + 1
        self._followed[key] = self._known.get(key, run_dir)
        self._track(self._followed[key])
        if key in self._pending:   # its first snapshot, on the pool
            self._flush()
        self._update_poll()

    def unwatch(self, run_dir: str) -> None:
        """Stop following ``run_dir`` (it stays watched while it is under the root)."""
        if not run_dir:
            return
        key = norm_path(run_dir)
        left = self._follows.get(key, 0) - 1
        if left > 0:
            self._follows[key] = left
            return
        self._follows.pop(key, None)
        self._followed.pop(key, None)
        if not self._under_root(key):
            self._forget(key)
        self._update_poll()

    def watched(self) -> list[str]:
        """Every run folder watched now (root runs and followed ones), as given."""
        return sorted(self._known.values())

    def followed(self) -> list[str]:
        return sorted(self._followed.values())

    def stop(self) -> None:
        """Watch nothing and emit nothing more (the owner is shutting down)."""
        self._debounce.stop()
        self._poll.stop()
        self._epoch += 1
        self._scanning = self._again = False
        if self._fs.directories():
            self._fs.removePaths(self._fs.directories())
        self._root, self._root_listing = None, []
        for table in (self._followed, self._follows, self._known, self._snapshots,
                      self._pending, self._unsure, self._heard, self._dirty):
            table.clear()

    def check_now(self) -> None:
        """Re-scan every watched folder now, on this thread (tests; a Refresh button)."""
        self._epoch += 1   # a scan under way is older than this one
        self._scanning = self._again = False
        self._debounce.stop()
        self._root_dirty = self._root is not None
        self._dirty.update(self._known)
        root, folders = self._take_dirty()
        self._apply(root, *_scan(root, folders, self._root_listing if root else ()))

    # ----------------------------------------------------------------- internals
    def _track(self, folder: str) -> None:
        # Its first snapshot: by the next scan (the caller flushes), not on this thread.
        key = norm_path(folder)
        if key not in self._known:
            self._known[key] = folder
            self._snapshots[key] = None
            self._pending[key] = time.time_ns() - FIRST_SCAN_SLACK_NS
            self._dirty.add(key)
        self._add_path(folder)

    def _forget(self, key: str) -> None:
        folder = self._known.pop(key, None)
        for table in (self._snapshots, self._pending, self._unsure):
            table.pop(key, None)
        self._heard.discard(key)
        self._dirty.discard(key)
        if folder is not None:
            self._remove_path(folder)

    def _add_path(self, path: str) -> None:
        if (path not in self._fs.directories() and os.path.isdir(path)
                and not self._fs.addPath(path)):  # e.g. inotify's watch limit: polling still works
            log.debug("Could not watch %s; relying on the %d ms re-scan", path, self._poll.interval())

    def _remove_path(self, path: str) -> None:
        if path in self._fs.directories():
            self._fs.removePath(path)

    def _under_root(self, key: str) -> bool:
        return self._root is not None and os.path.dirname(key) == norm_path(self._root)

    def _update_poll(self) -> None:
        want = bool(self._followed) or self._root is not None
        if want and not self._poll.isActive():
            self._poll.start()
        elif not want:
            self._poll.stop()

    @Slot(str)
    def _on_directory_changed(self, path: str) -> None:
        if self._root is None and not self._known:
            return  # stopped
        key = norm_path(path)
        if self._root is not None and key == norm_path(self._root):
            self._root_dirty = True
        elif key in self._known:
            self._dirty.add(key)
            self._heard.add(key)
        if not self._debounce.isActive():
            self._debounce.start()

    @Slot()
    def _on_poll(self) -> None:
        # Only the root's listing and the followed folders: root runs that are not
        # followed get their events from the file watcher (local disks).
        self._root_dirty = self._root_dirty or self._root is not None
        self._dirty.update(self._followed)
        self._flush()

    @Slot()
    def _flush(self) -> None:
        """Scan what is dirty on the pool; :meth:`_scanned` applies it when it is back."""
        self._debounce.stop()
        if self._scanning:
            self._again = True   # what got dirty meanwhile: scanned after this one
            return
        root, folders = self._take_dirty()
        if root is None and not folders:
            return
        pool = app_pool()
        try:
            pool.submit(_scan_job, pool, self._epoch, root, folders,
                        list(self._root_listing) if root else [],
                        weakref.WeakMethod(self._scanned))
        except RuntimeError:   # the pool has shut down: the app is closing
            return
        self._scanning = True

    def _take_dirty(self) -> tuple[str | None, dict[str, str]]:
        root = self._root if self._root_dirty else None
        self._root_dirty = False
        folders = {key: self._known[key] for key in self._dirty if key in self._known}
        self._dirty.clear()
        return root, folders

    def _scanned(self, epoch: int, root, result) -> None:
        if epoch != self._epoch:
            return   # stopped, or check_now() scanned everything since
        self._scanning = False
        self._apply(root, *result)
        if self._again:
            self._again = False
            self._flush()

    def _apply(self, root: str | None, listing: list | None, snaps: dict, gone: set,
               root_ok: bool) -> None:
        """Compare a scan with the last one and say what changed (GUI thread; no file I/O)."""
        runs_changed = listing is not None and root == self._root and listing != self._root_listing
        if runs_changed:
            old = set(map(norm_path, self._root_listing))
            for folder in listing:
                if norm_path(folder) not in old:
                    self._track(folder)   # its first snapshot: on the next scan
            self._root_listing = listing
            (self._add_path if root_ok else self._remove_path)(root)   # re-created: watch it again
        changes: list[tuple[str, list]] = []
        for key in sorted(snaps):
            folder = self._known.get(key)
            if folder is None:
                continue
            now, heard, news = snaps[key], key in self._heard, set()
            self._heard.discard(key)
            if key in self._pending:   # its first snapshot (see the module docstring)
                since = self._pending.pop(key)
                news = {n for n, v in (now or {}).items() if v[0] >= since}
                if not heard:
                    self._unsure[key], news = news, set()
                before = {n: v for n, v in (now or {}).items() if n not in news}
            else:
                before = self._snapshots.get(key) or {}
                unsure = self._unsure.pop(key, set())
                news = unsure if heard else set()
            self._snapshots[key] = now
            after = now or {}
            changed = sorted({n for n in set(before) | set(after) if before.get(n) != after.get(n)} | news)
            if now is not None:
                self._add_path(folder)   # a folder deleted and re-created loses its watch
            elif key not in self._followed and key in gone:
                self._forget(key)
            if changed:
                changes.append((folder, changed))
                if self._under_root(key) and RUN_JSON in changed:
                    runs_changed = True
        if runs_changed:
            self.runsChanged.emit()
        for folder, changed in changes:
            self.runChanged.emit(folder, changed)
        if self._pending and not self._scanning:
            self._flush()   # first snapshots of new runs (a check_now: after it)


def runs_root() -> str:
    """The runs root the panels list (``training.runs.listing.default_runs_root``; no TensorFlow)."""
    from training.runs.runfolder import default_runs_root

    return str(default_runs_root())
