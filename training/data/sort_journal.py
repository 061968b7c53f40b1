"""The journals of sorting a folder with a model (``training.sorting``): where they live,
making, reading and checking one, and the folders a sort created that its undo removes.

A sort keeps its journal in the format of a folder move's (``training.data.move_journal``,
schema 2 added the fields): ``operation`` is ``"copy"`` or ``"move"``, ``source`` the folder
sorted (every ``src`` resolves inside it; ``root`` is the destination, where every ``dst``
and created folder lies), and each move may carry the ``size`` and ``sha256`` of the file
made, so an undo deletes only copies that are still the sort's. Sort journals live in the
app data folder (:func:`sort_journal_folder`), never in a folder someone shared, and are
signed like the others (:func:`read_sort_journal`). A sort also records the folders above
the destination that it had to create (``created_above``: the destination's missing
parents, each an ancestor of ``root``) and, once made, the identity (device, inode) of
every folder it created (``dir_ids``): undo removes such a folder only when it is still
that folder and empty (:func:`remove_created_dirs`); a folder above the destination
without a recorded identity is never removed.

Apart from ``move_journal.py`` (a dataset's folder moves, kept in the dataset) because only
a sort makes, lists and undoes these; the journal itself and its checks are shared.
"""
from __future__ import annotations

import os
import time

from training.data.move_journal import (MAX_LISTED, OPERATIONS, FolderMoveError, Journal, Move,
                                        checked_moves, journal_stem, signed_data)

SORT_JOURNAL_DIR = "sorts"          # in the app data folder


def _ancestors(path: str):
    """The folders above ``path`` (links resolved), nearest first, the file system's root
    left out."""
    parent = os.path.dirname(os.path.realpath(path))
    while parent != os.path.dirname(parent):
        yield parent
        parent = os.path.dirname(parent)


def missing_parents(dest: str) -> list[str]:
    """The folders above ``dest`` (links resolved) that do not exist yet, deepest first:
    what ``os.makedirs(dest)`` will create besides ``dest`` itself."""
    out = []
    for parent in _ancestors(dest):
        if os.path.lexists(parent):
            break
        out.append(parent)
    return out


def remove_created_dirs(journal: Journal) -> list[str]:
    """Remove the folders ``journal`` created that are still the very folders it made
    (same device and inode when recorded) and empty, deepest first; never anything else
    (``os.rmdir`` refuses a folder with anything in it). Returns the folders removed."""
    removed = []
    above = set(journal.created_above)
    for folder in sorted({*journal.created_dirs, *above}, key=len, reverse=True):
        ident = journal.dir_ids.get(folder)
        if ident is None and folder in above:
            continue   # never known to be ours (killed before it was made): left alone
        try:
            st = os.lstat(folder)
            if ident is not None and [st.st_dev, st.st_ino] != list(ident):
                continue   # another folder of that name now: not ours
            os.rmdir(folder)   # only if empty: never removes a file
        except OSError:
            continue
        removed.append(folder)
    return removed



def sort_journal_folder() -> str:
    """Where sort journals are kept: ``<app data>/sorts/`` (the user's own folder, so a
    journal cannot arrive with someone's photos)."""
    from training.userdirs import user_folder

    return os.path.join(user_folder("data"), SORT_JOURNAL_DIR)


def new_sort_journal(source: str, dest: str, moves: list[Move], operation: str,
                     created_dirs: list[str], created_above: list[str] | None = None) -> Journal:
    """A sort's journal in :func:`sort_journal_folder` (not yet saved); ``created_above``:
    the folders above ``dest`` the sort will create (:func:`missing_parents`)."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}. Received: {operation!r}")
    name = journal_stem() + "-sort.json"
    return Journal(path=os.path.join(sort_journal_folder(), name),
                   root=os.path.realpath(dest), moves=list(moves), created_dirs=list(created_dirs),
                   created=time.strftime("%Y-%m-%dT%H:%M:%S"), operation=operation,
                   source=os.path.realpath(source), created_above=list(created_above or []))



def read_sort_journal(path: str) -> Journal:
    """Read and check a sort's journal: signed here, a sort's, every ``src`` inside its
    ``source`` and every ``dst`` and created folder inside its ``root`` (the destination).

    Raises:
        FolderMoveError: the reason it is refused (nothing is touched).
    """
    data = signed_data(path)
    source, root, operation = data.get("source"), data.get("root"), data.get("operation")
    if not isinstance(source, str) or not isinstance(root, str) or operation not in OPERATIONS:
        raise FolderMoveError(f"{path} is not the journal of a sort (it names no source folder, "
                              "destination and operation); refused.")
    checked, dirs = checked_moves(data, path, source, root)
    above, ids = _checked_above(data, path, root, dirs)
    return Journal(path=path, root=root, moves=checked, created_dirs=dirs,
                   created=str(data.get("created") or "")[:40], undone=data.get("undone") is True,
                   operation=operation, source=source, finished=data.get("finished") is True,
                   created_above=above, dir_ids=ids)


def _checked_above(data: dict, path: str, root: str, dirs: list[str]):
    """A sort journal's ``created_above`` (each a real ancestor of ``root``, never the
    file system's root) and ``dir_ids`` (for its created folders only), or the reason."""
    above, ids = data.get("created_above") or [], data.get("dir_ids") or {}
    if not isinstance(above, list) or not isinstance(ids, dict):
        raise FolderMoveError(f"{path}: 'created_above' must be a list and 'dir_ids' an object.")
    real_root = os.path.realpath(root)
    ancestors = set(_ancestors(real_root))
    for folder in above:
        if not isinstance(folder, str) or folder not in ancestors:
            raise FolderMoveError(f"{path}: a folder it says it created above the destination "
                                  f"is not above {real_root}: {folder!r:.200}; refused.")
    known = set(dirs) | set(above)
    checked = {}
    for folder, ident in ids.items():
        if folder not in known or not (isinstance(ident, list) and len(ident) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in ident)):
            raise FolderMoveError(f"{path}: 'dir_ids' names a folder the sort did not create "
                                  f"or is not [device, inode]: {folder!r:.200}; refused.")
        checked[folder] = list(ident)
    return list(above), checked


def sort_journals() -> list[str]:
    """Sort journals in :func:`sort_journal_folder`, newest first (at most ``MAX_LISTED``)."""
    folder = sort_journal_folder()
    try:
        names = sorted((n for n in os.listdir(folder) if n.endswith("-sort.json")
                        and not n.startswith(".")), reverse=True)[:MAX_LISTED]
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names]
