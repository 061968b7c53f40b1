"""Label fixes applied to an opened dataset: which of a dataset's fixes to apply (those
made elsewhere wait for the user's answer), applying them to a ``DatasetIndex``, keeping
the index up to date as the app edits them, and what runs and reports record of them.

Apart from ``training.data.overlay``, which holds the overlay file itself (where it
lives, reading, writing): this side works on an index and never chooses a file.
"""
from __future__ import annotations

import csv

import numpy as np

from training.safefiles import atomic_write

from .overlay import LabelOverlay, load_overlay


APPLY, IGNORE = "apply", "ignore"


def trusted_overlay(root: str, answer: str | None = None) -> tuple[LabelOverlay, dict | None]:
    """The fixes to apply to the dataset at ``root``, and what came with it from elsewhere.

    Args:
        answer: ``"apply"`` or ``"ignore"`` for label fixes made elsewhere (remembered for
            this dataset and content, as the GUI's question does); None: the remembered
            answer, or none yet (then they are not applied).

    Returns:
        ``(overlay, foreign)``: ``foreign`` is None when the file was made here (or holds
        no fixes), else ``{"path", "relabelled", "excluded", "outside", "digest",
        "decision": "apply" | "ignore" | None}``; with any decision but "apply" the
        overlay returned is empty (saving it keeps a copy of the other file first).

    Raises:
        OverlayError: as :func:`load_overlay`.
    """
    from training.data.provenance import remember_answer, remembered_answer

    overlay = load_overlay(root)
    if overlay.made_here or not len(overlay):
        return overlay, None
    digest = overlay.digest()
    if answer is not None:
        remember_answer(root, digest, answer)
    decision = answer or remembered_answer(root, digest)
    foreign = {"path": overlay.path, "relabelled": len(overlay.labels),
               "excluded": len(overlay.excluded), "outside": len(overlay.outside),
               "digest": digest, "decision": decision}
    if decision == APPLY:
        return overlay, foreign
    return LabelOverlay(root=root, path=overlay.path, set_aside=overlay.path), foreign


def foreign_message(foreign: dict | None) -> str:
    """``"3 label fixes and 1 exclusion come with this dataset (made elsewhere): …"``
    (what the Dataset panel, ``inspect`` and ``train`` say), or "" when none did."""
    if not foreign:
        return ""
    n, m = foreign.get("relabelled", 0), foreign.get("excluded", 0)
    text = (f"{n} label fix{'es' if n != 1 else ''} and {m} exclusion{'s' if m != 1 else ''} "
            "come with this dataset (made elsewhere)")
    decision = foreign.get("decision")
    if decision == APPLY:
        text += ": applied, as you accepted them."
    elif decision == IGNORE:
        text += ": not applied, as you chose to ignore them."
    else:
        text += ": not applied until you accept them."
    k = foreign.get("outside") or 0
    if k:
        text += (f" {k} more entr{'ies name paths' if k != 1 else 'y names a path'} outside the "
                 f"dataset and {'are' if k != 1 else 'is'} ignored in any case.")
    return text


def apply_overlay(index, overlay: LabelOverlay, foreign: dict | None = None):
    """Apply ``overlay`` to a freshly opened index, in place, and return it.

    ``foreign`` (from :func:`trusted_overlay`) is recorded as ``index.overlay["foreign"]``
    and said in ``index.warnings``.

    The overlay's class edits come first (``training.data.classedits``: ``index.classes``
    becomes the renamed, added and remaining classes; ``index.source_classes`` keeps the
    source's). Relabelled samples get their new class; excluded ones leave the index (they
    are listed in ``index.overlay["excluded_paths"]`` so the GUI can still show and restore
    them); images of a deleted class join the unlabelled pool, and unlabelled images the
    overlay gives a class join the index (``training.data.pool``).
    ``index.original_labels`` keeps the source's labels of the remaining rows (-1: none).
    An override naming a class the dataset does not have is skipped with a warning;
    overrides for files that no longer exist are kept in the file but ignored.
    """
    from .pool import remap_classes, settle_pool

    original = remap_classes(index, overlay.classes)
    labels = original.copy()
    n = len(index.paths)
    keep = np.ones(n, bool)
    class_of = {c: i for i, c in enumerate(index.classes)}
    unknown: set[str] = set()
    changed = 0
    excluded_paths, excluded_rows = [], []
    if len(overlay):
        for i, p in enumerate(index.paths):
            k = overlay.key(p)
            if k in overlay.excluded:
                keep[i] = False
                excluded_paths.append(p)
                excluded_rows.append(i)
                continue
            new = overlay.labels.get(k)
            if new is None:
                continue
            if new not in class_of:
                unknown.add(new)
                continue
            if class_of[new] != labels[i]:
                labels[i] = class_of[new]
                changed += 1
    if unknown:
        index.warnings.append(f"label overlay names unknown class(es) {sorted(unknown)}; those "
                              f"overrides are ignored ({overlay.path})")
    if overlay.outside:
        index.warnings.append(f"{len(overlay.outside)} label-fix entr"
                              f"{'ies name paths' if len(overlay.outside) != 1 else 'y names a path'}"
                              f" outside the dataset and {'are' if len(overlay.outside) != 1 else 'is'}"
                              f" ignored: {', '.join(overlay.outside[:3])} ({overlay.path})")
    if foreign:
        index.warnings.append(foreign_message(foreign) + f" ({foreign['path']})")
    index.labels = labels
    # The source's class and split of each excluded image, so the GUI can show them
    # (greyed) and restore them.
    excluded_labels = [int(original[i]) for i in excluded_rows]
    excluded_splits = [int(np.asarray(index.splits)[i]) for i in excluded_rows]
    # Images of a deleted class that no fix gives a class are unlabelled now.
    to_pool = keep & (labels < 0)
    if to_pool.any():
        index.unlabelled = sorted(list(index.unlabelled) + [index.paths[i] for i in np.flatnonzero(to_pool)])
        keep &= ~to_pool
    if not keep.all():
        rows = np.flatnonzero(keep)
        index.paths = [index.paths[i] for i in rows]
        index.labels = labels[rows]
        index.splits = np.asarray(index.splits)[rows]
        if index.arrays is not None:
            index.arrays = index.arrays[rows]
        original = original[rows]
        index._names = None
    index.original_labels = original
    promoted = settle_pool(index, overlay, excluded_paths, excluded_labels, excluded_splits)
    index.overlay = {**_record(overlay, changed + promoted, len(excluded_paths)),
                     "excluded_paths": excluded_paths,
                     EXCLUDED_LABELS: excluded_labels, EXCLUDED_SPLITS: excluded_splits,
                     "foreign": foreign, "labelled_in_app": promoted}
    return index


def _record(overlay: LabelOverlay, relabels: int, exclusions: int) -> dict:
    """What ``index.overlay`` says of the fixes applied (with the overlay's summary)."""
    return {**overlay.summary(), "applied_relabels": int(relabels), "applied_exclusions": int(exclusions)}



def set_fixes(index, overlay: LabelOverlay, paths: list[str], states: list, rows: dict | None = None,
              save=None) -> bool:
    """Give each of ``paths`` its fix ``(class name or None, excluded)`` in ``overlay``, save
    it, and bring ``index`` (opened earlier with this overlay applied) up to date, in place.

    What the app's edits, undo and redo do. A relabel takes effect at once in
    ``index.labels`` (the source's label where the fix has none or names no class of the
    dataset); an exclusion or a restore changes which images exist, and so does a class
    given to an unlabelled image (``index.unlabelled``), so those take effect when the
    dataset is next opened. ``index.overlay`` then says what reopening would
    apply (``applied_relabels``, ``applied_exclusions``); its per-image lists stay those
    of the opening (the excluded images the views show).

    Args:
        index: the ``DatasetIndex`` (None: only the overlay changes).
        overlay: the dataset's overlay.
        paths: sample paths (rows of ``index``, or images the overlay excluded at opening).
        states: one ``(label, excluded)`` per path, as :meth:`LabelOverlay.state` gives.
        rows: ``{path: row}`` of ``index`` when the caller keeps one (built otherwise).
        save: ``save(overlay)`` writes it (the app's writes it off its GUI thread);
            None: :meth:`LabelOverlay.save`.

    Returns:
        True when an image's exclusion changed (reopen the dataset before training).

    Raises:
        OSError: the overlay could not be saved (the index and the record are updated).
    """
    if index is None:
        changed = any(overlay.state(p)[1] != bool(ex) for p, (_label, ex) in zip(paths, states))
        for p, (label, excluded) in zip(paths, states):
            overlay.set_state(p, label, excluded)
        (save or LabelOverlay.save)(overlay)
        return changed
    if rows is None:
        rows = {p: i for i, p in enumerate(index.paths)}
    if getattr(index, "original_labels", None) is None:
        index.original_labels = np.asarray(index.labels).copy()
    info = dict(index.overlay or {})
    opened_excluded = set(info.get("excluded_paths") or [])
    exclusions = int(info.get("applied_exclusions", len(opened_excluded)))
    class_of = {c: i for i, c in enumerate(index.classes)}
    changed = False
    pool = None
    for p, (label, excluded) in zip(paths, states):
        was_label, was_excluded = overlay.state(p)
        overlay.set_state(p, label, excluded)
        row = rows.get(p)
        if row is None and was_label != label:
            # An unlabelled image given a class (or one taken back): it joins the index
            # when the dataset is next opened (training.data.pool).
            pool = set(getattr(index, "unlabelled", None) or []) if pool is None else pool
            changed = changed or p in pool
        if was_excluded != bool(excluded):
            changed = True
            if row is not None or p in opened_excluded:
                exclusions += 1 if excluded else -1
        if row is not None:
            fallback = int(index.original_labels[row])
            if fallback < 0 and label not in class_of:
                changed = True   # labelled in the app, now without a class: back to the pool
            index.labels[row] = class_of.get(label, fallback if fallback >= 0 else index.labels[row])
    try:
        (save or LabelOverlay.save)(overlay)
    finally:  # after save(), which chooses the file a new overlay goes to
        index.overlay = {**info, **_record(overlay, len(changed_rows(index)), exclusions)}
    return changed


EXCLUDED_LABELS, EXCLUDED_SPLITS = "excluded_labels", "excluded_splits"
_LONG_KEYS = ("excluded_paths", EXCLUDED_LABELS, EXCLUDED_SPLITS)


def overlay_info(index) -> dict:
    """``index.overlay`` without its per-image lists (for reports and JSON output)."""
    return {k: v for k, v in (getattr(index, "overlay", None) or {}).items() if k not in _LONG_KEYS}


def excluded_samples(index) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(paths, source class ids, split ids)`` of the images the overlay left out of
    ``index`` when it was opened (empty when none)."""
    info = getattr(index, "overlay", None) or {}
    paths = list(info.get("excluded_paths") or [])
    labels = np.asarray(info.get(EXCLUDED_LABELS) or [], np.int64)
    splits = np.asarray(info.get(EXCLUDED_SPLITS) or [], np.int64)
    if len(labels) != len(paths) or len(splits) != len(paths):  # an older record: unknown
        labels = np.zeros(len(paths), np.int64)
        splits = np.zeros(len(paths), np.int64)
    return paths, labels, splits


def overlay_record(index) -> dict | None:
    """The overlay summary a run's ``dataset.json`` keeps (None: no fixes applied)."""
    info = getattr(index, "overlay", None)
    if not info:
        return None
    excluded = info.get("excluded_paths") or []
    return {**overlay_info(index),
            "excluded_sample": excluded[:50]}


def overlay_snapshot(index) -> dict | None:
    """The full overlay a run was trained with (for the run folder's copy), or None when
    no fixes were applied."""
    info = getattr(index, "overlay", None)
    if not info or not info.get("path") or not (info.get("relabelled") or info.get("excluded")):
        return None
    try:
        return trusted_overlay(index.root)[0].to_dict()
    except ValueError:
        return None


def changed_rows(index) -> np.ndarray:
    """Rows of ``index`` whose label differs from the source's (the "changed" filter)."""
    original = getattr(index, "original_labels", None)
    if original is None or len(original) != len(index.labels):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.asarray(original) != np.asarray(index.labels))


def export_csv(index, path: str) -> int:
    """Write the corrected labels as ``path,label`` rows (excluded samples left out),
    atomically. Cells that a spreadsheet would run as a formula are escaped. Returns the
    number of rows written."""
    from training.csvcells import escape_cell

    with atomic_write(path, newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label"])
        for p, y in zip(index.paths, index.labels):
            w.writerow([escape_cell(p), escape_cell(index.classes[int(y)])])
    return len(index.paths)
