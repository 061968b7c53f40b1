"""The undo journal of a folder move, and the checks one passes before any file moves.

``training.data.folder_moves`` writes a journal (``<dataset>/.workbench/moves/<time>.json``)
before it moves a file, so every move can be undone. A dataset travels with its
``.workbench/`` folder, so a journal there may have been written by anyone: one naming a
``dst`` outside the dataset once made Undo move a user's file into the dataset (issue 25).
A journal is therefore data to check, never a list of instructions:

- it must carry this user's signature (``training.data.provenance``): a journal this app
  did not write here is never offered;
- its ``root`` must be the dataset being undone (symbolic links followed);
- every ``src`` and ``dst``, and every folder it created, must resolve inside that root,
  symbolic links followed (checked again just before each rename);
- the overlay it restores is checked like any overlay, and is saved to the dataset's own
  overlay file, never to a path the journal names.

A journal that fails a check raises :class:`FolderMoveError` with the reason and is never
offered for undo (:func:`find_undo` lists it as refused).

Sorting a folder with a model keeps its journal in the same format (schema 2 added the
fields); where those journals live and their own checks are ``training.data.sort_journal``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from training import safefiles

SCHEMA_VERSION = 2                  # 2: a sort's operation, source, size and sha256
JOURNAL_DIR = "moves"               # under the overlay's folder: <dataset>/.workbench/moves/
OPERATIONS = ("move", "copy")
MAX_JOURNAL_BYTES = 64 * safefiles.MiB
MAX_LISTED = 50                     # journals looked at per dataset, newest first


class FolderMoveError(ValueError):
    """The moves cannot be planned, applied or undone; the message says which file and why."""


@dataclass(frozen=True)
class Move:
    src: str
    dst: str
    label: str   # the class the image moves to
    size: int | None = None      # a sort: the bytes of the file made at dst, once made
    sha256: str | None = None    # a sort's copy: their SHA-256 (undo deletes only a match)


@dataclass
class Journal:
    """A checked journal: every path in it resolves inside ``root``."""

    path: str
    root: str
    moves: list[Move]
    created_dirs: list[str] = field(default_factory=list)
    overlay_before: dict = field(default_factory=dict)
    created: str = ""
    undone: bool = False
    operation: str = "move"          # "copy": a sort that copied (undo deletes the copies)
    source: str | None = None        # a sort: the folder sorted (None: ``root`` itself)
    finished: bool = False           # a sort: every planned file was handled
    created_above: list[str] = field(default_factory=list)   # a sort: DEST's parents it made
    dir_ids: dict[str, list[int]] = field(default_factory=dict)   # folder -> [dev, inode]

    def to_dict(self) -> dict:
        data = {"schema_version": SCHEMA_VERSION, "root": self.root, "created": self.created,
                "undone": self.undone, "overlay_before": self.overlay_before,
                "created_dirs": list(self.created_dirs),
                "moves": [_move_dict(m) for m in self.moves]}
        if self.source is not None:
            data.update(operation=self.operation, source=self.source, finished=self.finished,
                        created_above=list(self.created_above), dir_ids=dict(self.dir_ids))
        return data

    def note_created_dirs(self) -> None:
        """Record the identity of each folder this journal says it creates, once made
        (call right after making them; undo then removes only those very folders)."""
        for folder in [*self.created_dirs, *self.created_above]:
            try:
                st = os.lstat(folder)
            except OSError:
                continue
            self.dir_ids.setdefault(folder, [st.st_dev, st.st_ino])

    def save(self) -> None:
        """Write signed and atomically (flushed to disk: an interrupted apply must be
        undoable after a power cut)."""
        from training.data.provenance import sign

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        safefiles.write_json(self.path, sign(self.to_dict()))   # fsync-ed, like every write


def journal_stem() -> str:
    """A journal's file name without its suffix: local time to the microsecond, then the
    process id. The newest journal is found by sorting the names, so they must sort in the
    order they were made: to the second only, two journals of one second (a sort that
    filled the disk right after another, in the service and the app) sorted by the process
    id's digits, and two of one process in one second had the same name."""
    now = time.time()
    return (time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
            + f"-{int(now % 1 * 1_000_000):06d}-{os.getpid()}")


def new_journal(root: str, moves: list[Move], overlay_before: dict) -> Journal:
    """A journal for ``moves`` in :func:`journal_folder` (not yet saved)."""
    from training.data.overlay import dataset_folder

    name = journal_stem() + ".json"
    return Journal(path=os.path.join(journal_folder(root), name), root=dataset_folder(root),
                   moves=list(moves), overlay_before=overlay_before,
                   created=time.strftime("%Y-%m-%dT%H:%M:%S"),
                   created_dirs=sorted({os.path.dirname(m.dst) for m in moves
                                        if not os.path.isdir(os.path.dirname(m.dst))}))


def journal_folder(root: str) -> str:
    """Where the journals of ``root`` are kept: beside its label overlay (the dataset's
    ``.workbench/`` folder, or the app data folder when the dataset is read-only or its
    ``.workbench`` is a link out of it)."""
    from training.data.overlay import (OverlayError, folder_writable, beside_path,
                                       dataset_folder, fallback_path, load_overlay)

    try:
        base = load_overlay(root).path
    except OverlayError:
        base = None
    if base is None:
        base = beside_path(root) if folder_writable(dataset_folder(root)) else fallback_path(root)
    folder = os.path.join(os.path.dirname(base), JOURNAL_DIR)
    if not (safefiles.inside(dataset_folder(root), folder)
            or safefiles.inside(os.path.dirname(fallback_path(root)), folder)):
        # moves/ is a link out of the dataset: journals are neither read nor written there.
        folder = os.path.join(os.path.dirname(fallback_path(root)), JOURNAL_DIR)
    return folder


def check_path(root: str, path, what: str, journal: str) -> str:
    """``path`` when it is a string that resolves (links followed) inside ``root``."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise FolderMoveError(f"{journal}: a {what} is not a path. Received: {path!r:.80}")
    if not os.path.isabs(path):
        raise FolderMoveError(f"{journal}: the {what} {path!r:.200} is not an absolute path; refused.")
    if not safefiles.inside(root, path):
        raise FolderMoveError(f"{journal}: the {what} {path} is outside the dataset {root}"
                              + (f" (it leads to {os.path.realpath(path)})"
                                 if os.path.realpath(path) != os.path.normpath(path) else "")
                              + "; this journal is refused and nothing was moved.")
    return path


def checked_moves(data: dict, path: str, source: str, root: str) -> tuple[list[Move], list[str]]:
    """The journal's moves (every ``src`` inside ``source``, every ``dst`` inside ``root``)
    and created folders (inside ``root``), or :class:`FolderMoveError` with the reason."""
    moves = data.get("moves")
    if not isinstance(moves, list):
        raise FolderMoveError(f"{path}: 'moves' must be a list. Received: {type(moves).__name__}")
    checked = []
    for m in moves:
        if not isinstance(m, dict) or not isinstance(m.get("label", ""), str):
            raise FolderMoveError(f"{path}: each move is {{src, dst, label}}. Received: {m!r:.80}")
        size, digest = m.get("size"), m.get("sha256")
        if (size is not None and (isinstance(size, bool) or not isinstance(size, int)))\
                or (digest is not None and not isinstance(digest, str)):
            raise FolderMoveError(f"{path}: a move's size or sha256 is not valid. "
                                  f"Received: {m!r:.80}")
        checked.append(Move(check_path(source, m.get("src"), "source", path),
                            check_path(root, m.get("dst"), "destination", path),
                            m.get("label", ""), size, digest))
    dirs = data.get("created_dirs") or []
    if not isinstance(dirs, list):
        raise FolderMoveError(f"{path}: 'created_dirs' must be a list.")
    return checked, [check_path(root, d, "created folder", path) for d in dirs]


def read_journal(path: str, root: str) -> Journal:
    """Read and check the journal at ``path`` for the dataset at ``root`` (module doc).

    Raises:
        FolderMoveError: unreadable, too large, unsigned or signed by someone else, for
            another dataset, or a path that leaves the dataset; the message says which.
    """
    from training.data.overlay import LabelOverlay, dataset_folder

    data = signed_data(path)
    if data.get("source") is not None:
        raise FolderMoveError(f"{path} is the journal of a sort, not of a folder move; undo it "
                              "with 'python -m training sort --undo'.")
    folder = dataset_folder(root)
    recorded = data.get("root")
    if not isinstance(recorded, str) or not safefiles.inside(folder, recorded) \
            or not safefiles.inside(recorded, folder):
        raise FolderMoveError(f"{path} is a journal of the dataset {recorded!r:.200}, not of "
                              f"{folder} (was the dataset moved or copied since?); refused.")
    checked, dirs = checked_moves(data, path, folder, folder)
    try:
        before = LabelOverlay.from_dict(data.get("overlay_before") or {"schema_version": 1},
                                        folder, path).to_dict()
    except ValueError as exc:
        raise FolderMoveError(f"{path}: its saved label fixes are not valid ({exc}).") from None
    undone = data.get("undone", False)
    return Journal(path=path, root=folder, moves=checked, created_dirs=dirs,
                   overlay_before=before, created=str(data.get("created") or "")[:40],
                   undone=undone is True)


def find_undo(root: str) -> tuple[Journal | None, list[tuple[str, str]]]:
    """The newest journal of ``root`` that passes every check and was not undone, and the
    journals refused on the way, ``[(path, reason)]``, newest first. In the app data
    folder, which read-only datasets share, another dataset's journals are skipped, not
    refused."""
    from training.data.overlay import fallback_path

    folder = journal_folder(root)
    shared = safefiles.inside(os.path.dirname(fallback_path(root)), folder)
    try:
        names = sorted((n for n in os.listdir(folder) if n.endswith(".json")
                        and not n.startswith(".")), reverse=True)[:MAX_LISTED]
    except OSError:
        return None, []
    refused = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            journal = read_journal(path, root)
        except FolderMoveError as exc:
            if shared and " is a journal of the dataset " in str(exc):
                continue
            refused.append((path, str(exc)))
            continue
        if not journal.undone:
            return journal, refused
    return None, refused


def describe(journal: Journal, shown: int = 5, undo: bool = True) -> list[str]:
    """``"dog/cat_000.png  →  cat/cat_000.png"`` for the first ``shown`` moves (the way an
    undo moves them, or the way the apply did), then ``"… and N more"``."""
    root = journal.root

    def rel(p):
        return os.path.relpath(p, root)

    lines = [f"{rel(m.dst)}  →  {rel(m.src)}" if undo else f"{rel(m.src)}  →  {rel(m.dst)}"
             for m in journal.moves[:shown]]
    if len(journal.moves) > shown:
        lines.append(f"… and {len(journal.moves) - shown} more")
    return lines


def _move_dict(m: Move) -> dict:
    d = {"src": m.src, "dst": m.dst, "label": m.label}
    if m.size is not None:
        d["size"] = m.size
    if m.sha256 is not None:
        d["sha256"] = m.sha256
    return d


def signed_data(path: str) -> dict:
    """The checked JSON object of a journal this app signed for this user."""
    from training.data.provenance import made_here

    try:
        data = safefiles.read_json(path, MAX_JOURNAL_BYTES)
    except safefiles.UntrustedFileError as exc:
        raise FolderMoveError(f"Cannot read the journal: {exc}") from None
    if not isinstance(data, dict):
        raise FolderMoveError(f"{path}: a journal is a JSON object. "
                              f"Received: {type(data).__name__}")
    safefiles.check_schema(data, "move journal", SCHEMA_VERSION, where=path, error=FolderMoveError)
    if not made_here(data):
        raise FolderMoveError(f"{path} was not written by this app for you (it has no valid "
                              "signature): it may have come with the dataset from someone else. "
                              "It is refused and never offered for undo.")
    return data
