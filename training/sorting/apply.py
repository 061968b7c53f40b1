"""Carry out a sort plan (copy, or move when asked) with a journal, and undo it.

Steps of :func:`apply_sort`:

1. With ``move``, the source's folders must be writable: a read-only source is refused up
   front ("sort by copying instead"); copying never writes to the source.
2. Each photo gets a free name in ``DEST/<folder>/``: a name taken on disk or by an earlier
   photo of the plan gets `` (2)``, `` (3)``… before its extension. Nothing is overwritten.
3. The journal (``training.data.move_journal``: the format of folder moves, signed, in the
   app data folder) is written with every planned ``src -> dst`` before any folder or file
   is made, then rewritten about once a second with the size and SHA-256 of the files made.
4. A copy goes to a hidden temporary file, is flushed to the disk and then linked to its
   name (``training.safefiles.copy_new``), so a kill never leaves half a photo under its
   final name. A move is a hard link then the source's removal (never an overwriting
   rename), or, across file systems, such a copy then the source's removal. A few files
   are made at once on worker threads (their fsyncs overlap: 2-3x faster on a disk); the
   journal records each in the plan's order.
5. An unreadable photo is reported and the rest goes on; a full disk stops the sort with a
   message naming the destination (the journal stays, so Undo works).

:func:`undo_sort` checks the journal (signed here, paths inside its folders), then per
entry, on disk: a copy is deleted only when its bytes are still the sort's (the recorded
SHA-256, or the source's bytes when the kill came before the journal recorded it); a moved
photo goes back to its place (a name taken again there is left alone and reported).
Temporary files a kill left behind are removed, then the folders the sort made (DEST, its
class folders, and the folders above DEST it had to create), each only if it is still the
folder the sort made and empty.
"""
from __future__ import annotations

import dataclasses
import errno
import filecmp
import hashlib
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor

from training import safefiles
from training.data.move_journal import FolderMoveError, Move, check_path
from training.data.sort_journal import (missing_parents, new_sort_journal, read_sort_journal,
                                        remove_created_dirs)
from training.events import Events
from training.sorting.plan import SortError, SortPlan

log = logging.getLogger(__name__)

FLUSH_S = 1.0        # the journal is rewritten at most this often while files are made
WORKERS = 8          # copies at once: each waits mostly on its fsync, which overlap
IN_FLIGHT = 16       # files handed to the workers ahead of the one being recorded
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DiskFullError(SortError):
    """The destination's disk is full (or a quota or file-size limit was reached)."""


def undo_command(journal: str) -> str:
    return f"python -m training sort --undo {journal}"


def source_refusal(plan: SortPlan) -> str | None:
    """Why the photos cannot be moved out of the source (read-only), or None."""
    for folder in sorted({os.path.dirname(p) for p, _ in plan.items}):
        why = _not_writable(folder)
        if why:
            return (f"Moving takes the photos out of {plan.source}, but {folder} is {why}. "
                    "Sort by copying instead (the default); nothing was changed.")
    return None


def _not_writable(folder: str) -> str | None:
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    except (OSError, AttributeError):
        pass
    return None if os.access(folder, os.W_OK) else "read-only for you"


def free_name(folder: str, name: str, taken: set[str]) -> str:
    """``folder/name``, or ``folder/stem (2).ext``, ``(3)``… when taken on disk or in
    ``taken`` (which then holds the name chosen)."""
    stem, ext = os.path.splitext(name)
    candidate, n = os.path.join(folder, name), 1
    while candidate in taken or os.path.lexists(candidate):
        n += 1
        candidate = os.path.join(folder, f"{stem} ({n}){ext}")
    taken.add(candidate)
    return candidate


def apply_sort(plan: SortPlan, move: bool = False, events: Events | None = None) -> dict:
    """Copy (or move) every photo of ``plan`` into its folder; see the module doc.

    Returns:
        ``{journal, operation, source, dest, done, counts: {folder: n}, failed: [{path,
        reason}], unreadable, skipped}``.

    Raises:
        SortError: a read-only source with ``move`` (nothing changed), or
            :class:`DiskFullError` (the journal names what was made; undo works).
        Stopped: ``events`` asked to stop (the journal is saved; undo works).
    """
    events = events or Events()
    if move:
        refusal = source_refusal(plan)
        if refusal:
            raise SortError(refusal)
    dest = plan.dest
    taken: set[str] = set()
    moves = [Move(src, free_name(os.path.join(dest, folder), os.path.basename(src), taken), folder)
             for src, folder in plan.items]
    made = [d for d in [dest] + [os.path.join(dest, f) for f in plan.folders]
            if not os.path.isdir(d)]
    journal = new_sort_journal(plan.source, dest, moves, "move" if move else "copy", made,
                               missing_parents(dest))
    journal.save()   # first: whatever happens next, the journal names it
    events.on_status(f"Journal written (undo: {undo_command(journal.path)})")
    log.info("sorting %d photo(s) from %s into %s (%s); journal %s", len(moves), plan.source,
             dest, journal.operation, journal.path)
    done, failed, counts = 0, [], dict.fromkeys(plan.folders, 0)
    last_flush = time.monotonic()
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="workbench-sort")
    pending: dict[int, Future] = {}
    try:
        for folder in [dest] + sorted({os.path.dirname(m.dst) for m in journal.moves}):
            os.makedirs(folder, exist_ok=True)
        journal.note_created_dirs()
        journal.save()   # which folders are the sort's own: undo removes only those
        total, nxt = len(journal.moves), 0
        for i in range(total):
            events.check_stop()
            while nxt < total and nxt < i + IN_FLIGHT:   # keep files in flight (fsync waits)
                pending[nxt] = pool.submit(_make, journal.moves[nxt], move)
                nxt += 1
            try:
                m = _placed(journal, i, pending.pop(i), move, taken)
            except OSError as exc:
                if exc.errno in DISK_FULL:
                    raise
                failed.append({"path": journal.moves[i].src, "reason": _reason(exc)})
                log.warning("could not sort %s: %s", journal.moves[i].src, _reason(exc))
            else:
                done += 1
                counts[m.label] = counts.get(m.label, 0) + 1
            if time.monotonic() - last_flush > FLUSH_S:
                journal.save()
                last_flush = time.monotonic()
            events.on_progress(i + 1, total, "Moving photos" if move else "Copying photos")
        journal.finished = True
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        done += _settle(journal, pending)
        _save_quietly(journal)
        what = "refused a file as too large" if exc.errno == errno.EFBIG else "is full"
        raise DiskFullError(
            f"The destination {dest} {what} ({exc.strerror or exc}): {done} of {len(moves)} "
            f"photo(s) were {'moved' if move else 'copied'} before it filled. Free some space "
            f"and sort again, or undo what was done: {undo_command(journal.path)}") from None
    finally:
        if not journal.finished:
            _settle(journal, pending)
            _save_quietly(journal)
        pool.shutdown(wait=True, cancel_futures=True)
    journal.save()
    return {"journal": journal.path, "operation": journal.operation, "source": plan.source,
            "dest": dest, "done": done, "counts": counts, "failed": failed,
            "unreadable": list(plan.unreadable), "skipped": list(plan.skipped)}


def _save_quietly(journal) -> None:
    """Save the journal on the way out of an error (a full disk may refuse it too: the
    journal saved before keeps every planned entry, which undo checks on disk)."""
    try:
        journal.save()
    except OSError:
        log.exception("could not update the sort journal %s", journal.path)


def _reason(exc: OSError) -> str:
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


def _make(m: Move, move: bool) -> Move:
    """Make ``m.dst`` (copy or move; on a worker thread); returns ``m`` with the size (and
    SHA-256) of the file made."""
    if move:
        return _move(m)
    size, digest = safefiles.copy_new(m.src, m.dst)
    return dataclasses.replace(m, size=size, sha256=digest)


def _placed(journal, i: int, future: Future, move: bool, taken: set[str]) -> Move:
    """Entry ``i``'s outcome, recorded in the journal. A name taken since planning gets
    the next free one, journaled before the file gets it (here, on this thread)."""
    try:
        journal.moves[i] = future.result()
        return journal.moves[i]
    except FileExistsError:
        pass
    m = journal.moves[i]
    for _ in range(1000):
        m = journal.moves[i] = dataclasses.replace(
            m, dst=free_name(os.path.dirname(m.dst), os.path.basename(m.src), taken))
        journal.save()
        try:
            journal.moves[i] = _make(m, move)
            return journal.moves[i]
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free name", m.dst)


def _settle(journal, pending: dict) -> int:
    """On the way out (a stop, a full disk): files still in flight are waited for and
    those made are recorded, so the journal says what exists. Returns how many."""
    made = 0
    for i, future in pending.items():
        if future.cancel():
            continue
        try:
            journal.moves[i] = future.result()
            made += 1
        except OSError:
            pass
    pending.clear()
    return made


def _move(m: Move) -> Move:
    """Hard-link then remove the source (never overwrites); across file systems, a
    :func:`~training.safefiles.copy_new` then the removal."""
    size = os.lstat(m.src).st_size
    try:
        os.link(m.src, m.dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        size, digest = safefiles.copy_new(m.src, m.dst)
        _remove_source(m)
        return dataclasses.replace(m, size=size, sha256=digest)
    _remove_source(m)
    return dataclasses.replace(m, size=size)


def _remove_source(m: Move) -> None:
    try:
        os.remove(m.src)
    except OSError:
        os.remove(m.dst)   # the photo stays where it was, once, and is reported
        raise


# -- undo ------------------------------------------------------------------------------
def undo_sort(journal_path: str, events: Events | None = None) -> dict:
    """Undo the sort of ``journal_path`` (see the module doc).

    Returns:
        ``{journal, operation, restored: n, kept: [{path, reason}]}``: ``restored`` counts
        copies deleted or photos moved back; ``kept`` lists files left alone and why.

    Raises:
        SortError: the journal is refused (the reason; nothing is touched) or was undone.
    """
    events = events or Events()
    try:
        journal = read_sort_journal(journal_path)
    except FolderMoveError as exc:
        raise SortError(str(exc)) from None
    if journal.undone:
        raise SortError(f"{journal_path}: this sort was undone already.")
    restored, kept = 0, []
    for n, m in enumerate(reversed(journal.moves)):
        events.check_stop()
        # Checked again just before each change: a folder swapped for a link since the
        # journal was read cannot send a delete or a rename elsewhere.
        src = check_path(journal.source, m.src, "source", journal.path)
        dst = check_path(journal.root, m.dst, "destination", journal.path)
        why = (_undo_copy if journal.operation == "copy" else _undo_move)(src, dst, m)
        if why is None:
            restored += 1
        elif why:
            kept.append({"path": dst, "reason": why})
        events.on_progress(n + 1, len(journal.moves), "Undoing the sort")
    _remove_temps(journal)
    remove_created_dirs(journal)
    journal.undone = True
    journal.save()
    log.info("undid the sort %s: %d restored, %d kept", journal.path, restored, len(kept))
    return {"journal": journal.path, "operation": journal.operation, "restored": restored,
            "kept": kept}


def _same_bytes(a: str, b: str) -> bool:
    try:
        return filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _ours(dst: str, m: Move, src: str) -> bool:
    """Whether ``dst`` is still the file the sort made: its recorded SHA-256, or, when the
    journal had not recorded it yet (a kill), the same bytes as the photo copied."""
    if os.path.islink(dst) or not os.path.isfile(dst):
        return False
    if m.sha256 is not None:
        if m.size is not None and os.path.getsize(dst) != m.size:
            return False
        digest = hashlib.sha256()
        with open(dst, "rb") as f:
            for block in iter(lambda: f.read(safefiles.MiB), b""):
                digest.update(block)
        return digest.hexdigest() == m.sha256
    return os.path.isfile(src) and _same_bytes(src, dst)


def _undo_copy(src: str, dst: str, m: Move) -> str | None:
    """Delete the copy; ``""`` when there was none (not made yet), a reason when kept."""
    if not os.path.lexists(dst):
        return ""
    if not _ours(dst, m, src):
        return "changed since the sort (or not made by it); kept"
    os.remove(dst)
    return None


def _undo_move(src: str, dst: str, m: Move) -> str | None:
    """Put the photo back; ``""`` when it never moved, a reason when it could not."""
    if not os.path.lexists(dst):
        return ""
    if os.path.lexists(src):
        # A kill between the link (or copy) and the source's removal: two names, one photo.
        try:
            twin = os.path.samefile(src, dst) or _same_bytes(src, dst)
        except OSError:
            twin = False
        if twin:
            os.remove(dst)
            return ""
        return f"{src} exists again, so this photo was left in the destination"
    os.makedirs(os.path.dirname(src), exist_ok=True)
    try:
        os.link(dst, src)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        safefiles.copy_new(dst, src)
    os.remove(dst)
    return None


def _remove_temps(journal) -> None:
    """Remove the hidden temporary files of planned names (a copy a kill interrupted)."""
    by_folder: dict[str, list[str]] = {}
    for m in journal.moves:
        by_folder.setdefault(os.path.dirname(m.dst), []).append(m.dst)
        if journal.operation == "move":   # an interrupted move back, or across file systems
            by_folder.setdefault(os.path.dirname(m.src), []).append(m.src)
    for folder, planned in by_folder.items():
        try:
            names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]
        except OSError:
            continue
        wanted = {os.path.basename(p): p for p in planned}
        for name in names:
            base = name[1:-len(".tmp")].rsplit(".", 1)[0]
            path = wanted.get(base)
            if path is not None and safefiles.is_temp_of(path, os.path.join(folder, name)):
                try:
                    os.remove(os.path.join(folder, name))
                except OSError:
                    log.warning("could not remove the temporary file %s", name)
