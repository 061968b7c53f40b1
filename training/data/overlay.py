"""The label overlay: the user's fixes to a dataset (relabel, exclude), never the files.

A dataset's images stay byte-identical; what the user changes is kept in
``<dataset folder>/.workbench/labels.json``, or, when that folder is read-only, in the
app's data folder under a name keyed by the dataset's absolute path. ``open_dataset``
applies the overlay, so the GUI, ``python -m training train`` and evaluation all see the
same corrected labels; every run's ``dataset.json`` records the overlay's summary.

Entries are keyed by the sample's path relative to the dataset folder (forward slashes),
so an overlay survives moving the whole dataset. Array sources key by ``"<file>#<row>"``.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np

from training.jsonfiles import atomic_write, check_schema, write_json
from training.userdirs import user_folder

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
OVERLAY_DIR = ".workbench"
OVERLAY_FILE = "labels.json"


class OverlayError(ValueError):
    """An overlay file is malformed or newer than this version, or a fix names an
    unknown class."""


def app_data_dir() -> str:
    """``$WORKBENCH_DATA_DIR``, else the user's data folder + ``image-workbench``."""
    return user_folder("data")


def dataset_folder(root: str) -> str:
    """The folder the overlay belongs to: ``root`` itself, or the folder of a dataset file
    (a ``.csv``, ``.npz`` or IDX file)."""
    root = os.path.abspath(root)
    return root if os.path.isdir(root) else os.path.dirname(root)


def beside_path(root: str) -> str:
    return os.path.join(dataset_folder(root), OVERLAY_DIR, OVERLAY_FILE)


def fallback_path(root: str) -> str:
    key = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return os.path.join(app_data_dir(), "overlays", f"{key}.json")


def _folder_writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed from mode bits)."""
    target = os.path.join(folder, OVERLAY_DIR)
    try:
        os.makedirs(target, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target, prefix=".probe")
        os.close(fd)
        os.remove(probe)
        return True
    except OSError:
        return False


@dataclass
class LabelOverlay:
    """The fixes for one dataset.

    Attributes:
        root: the dataset path (as ``DatasetIndex.root``).
        labels: ``{relative key: class name}`` for relabelled samples.
        excluded: relative keys of samples left out of training and evaluation.
        path: the file this overlay was read from / is saved to (None: not chosen yet).
    """

    root: str
    labels: dict[str, str] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)
    path: str | None = None
    schema_version: int = SCHEMA_VERSION

    # -- keys ----------------------------------------------------------------------------
    def key(self, sample_path: str) -> str:
        """The overlay key of a sample path (absolute or already relative)."""
        folder = dataset_folder(self.root)
        p = str(sample_path)
        if os.path.isabs(p):
            p = os.path.relpath(p, folder)
        return p.replace(os.sep, "/")

    def absolute(self, key: str) -> str:
        return os.path.join(dataset_folder(self.root), key.replace("/", os.sep))

    # -- edits (each returns nothing; undo goes through state()/set_state()) -------------
    def state(self, sample_path: str) -> tuple[str | None, bool]:
        """``(relabelled class or None, excluded)`` of one sample."""
        k = self.key(sample_path)
        return self.labels.get(k), k in self.excluded

    def set_state(self, sample_path: str, label: str | None, excluded: bool) -> None:
        """Set one sample's overlay state exactly (what undo/redo replay)."""
        k = self.key(sample_path)
        if label is None:
            self.labels.pop(k, None)
        else:
            self.labels[k] = str(label)
        if excluded:
            self.excluded.add(k)
        else:
            self.excluded.discard(k)

    def relabel(self, sample_path: str, label: str, original: str | None = None) -> None:
        """Give a sample the class ``label``; relabelling to its ``original`` class
        removes the override instead of storing a no-op."""
        k = self.key(sample_path)
        if original is not None and label == original:
            self.labels.pop(k, None)
        else:
            self.labels[k] = str(label)

    def exclude(self, sample_path: str) -> None:
        self.excluded.add(self.key(sample_path))

    def restore(self, sample_path: str) -> None:
        """Back to the source's label, included."""
        self.set_state(sample_path, None, False)

    def __len__(self) -> int:
        return len(set(self.labels) | self.excluded)

    # -- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "root": os.path.abspath(self.root),
                "labels": dict(sorted(self.labels.items())), "excluded": sorted(self.excluded)}

    def digest(self) -> str:
        text = json.dumps({"labels": self.to_dict()["labels"], "excluded": sorted(self.excluded)},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def summary(self) -> dict:
        """What a run's ``dataset.json`` records (plain data)."""
        return {"path": self.path, "relabelled": len(self.labels), "excluded": len(self.excluded),
                "digest": self.digest()}

    def save(self) -> str:
        """Write atomically beside the dataset, or to the app data folder when the
        dataset's folder is read-only. Returns the path written."""
        if self.path is None or not _can_write_file(self.path):
            self.path = beside_path(self.root) if _folder_writable(dataset_folder(self.root)) \
                else fallback_path(self.root)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        write_json(self.path, self.to_dict())
        log.info("label overlay saved: %s (%d relabelled, %d excluded)", self.path,
                 len(self.labels), len(self.excluded))
        return self.path

    @classmethod
    def from_dict(cls, data, root: str, path: str | None = None) -> LabelOverlay:
        where = path or "label overlay"
        if not isinstance(data, dict):
            raise OverlayError(f"{where}: expected a JSON object. Received: {type(data).__name__}")
        check_schema(data, "label overlay", SCHEMA_VERSION, where=path, error=OverlayError)
        labels = data.get("labels", {})
        excluded = data.get("excluded", [])
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                   for k, v in labels.items()):
            raise OverlayError(f"{where}: 'labels' must map sample paths to class names.")
        if not isinstance(excluded, list) or not all(isinstance(k, str) for k in excluded):
            raise OverlayError(f"{where}: 'excluded' must be a list of sample paths.")
        return cls(root=root, labels=dict(labels), excluded=set(excluded), path=path)


def _can_write_file(path: str) -> bool:
    folder = os.path.dirname(path)
    return os.path.isdir(folder) and os.access(folder, os.W_OK)


def load_overlay(root: str) -> LabelOverlay:
    """The overlay of the dataset at ``root`` (an empty one when there is none).

    Raises:
        OverlayError: the file exists but is malformed or from a newer version.
    """
    for path in (beside_path(root), fallback_path(root)):
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as exc:
                raise OverlayError(f"{path}: cannot read the label overlay ({exc})") from None
            return LabelOverlay.from_dict(data, root, path)
    return LabelOverlay(root=root)


def apply_overlay(index, overlay: LabelOverlay):
    """Apply ``overlay`` to a freshly opened index, in place, and return it.

    Relabelled samples get their new class; excluded ones leave the index (they are
    listed in ``index.overlay["excluded_paths"]`` so the GUI can still show and restore
    them). ``index.original_labels`` keeps the source's labels of the remaining rows.
    An override naming a class the dataset does not have is skipped with a warning;
    overrides for files that no longer exist are kept in the file but ignored.
    """
    n = len(index.paths)
    original = np.asarray(index.labels, np.int32).copy()
    labels = original.copy()
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
    index.labels = labels
    # The source's class and split of each excluded image, so the GUI can show them
    # (greyed) and restore them.
    excluded_labels = [int(original[i]) for i in excluded_rows]
    excluded_splits = [int(np.asarray(index.splits)[i]) for i in excluded_rows]
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
    index.overlay = {**_record(overlay, changed, len(excluded_paths)), "excluded_paths": excluded_paths,
                     EXCLUDED_LABELS: excluded_labels, EXCLUDED_SPLITS: excluded_splits}
    return index


def _record(overlay: LabelOverlay, relabels: int, exclusions: int) -> dict:
    """What ``index.overlay`` says of the fixes applied (with the overlay's summary)."""
    return {**overlay.summary(), "applied_relabels": int(relabels), "applied_exclusions": int(exclusions)}


def set_fixes(index, overlay: LabelOverlay, paths: list[str], states: list, rows: dict | None = None) -> bool:
    """Give each of ``paths`` its fix ``(class name or None, excluded)`` in ``overlay``, save
    it, and bring ``index`` (opened earlier with this overlay applied) up to date, in place.

    What the app's edits, undo and redo do. A relabel takes effect at once in
    ``index.labels`` (the source's label where the fix has none or names no class of the
    dataset); an exclusion or a restore changes which images exist, so it takes effect
    when the dataset is next opened. ``index.overlay`` then says what reopening would
    apply (``applied_relabels``, ``applied_exclusions``); its per-image lists stay those
    of the opening (the excluded images the views show).

    Args:
        index: the ``DatasetIndex`` (None: only the overlay changes).
        overlay: the dataset's overlay.
        paths: sample paths (rows of ``index``, or images the overlay excluded at opening).
        states: one ``(label, excluded)`` per path, as :meth:`LabelOverlay.state` gives.
        rows: ``{path: row}`` of ``index`` when the caller keeps one (built otherwise).

    Returns:
        True when an image's exclusion changed (reopen the dataset before training).

    Raises:
        OSError: the overlay could not be saved (the index and the record are updated).
    """
    if index is None:
        changed = any(overlay.state(p)[1] != bool(ex) for p, (_label, ex) in zip(paths, states))
        for p, (label, excluded) in zip(paths, states):
            overlay.set_state(p, label, excluded)
        overlay.save()
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
    for p, (label, excluded) in zip(paths, states):
        was_excluded = overlay.state(p)[1]
        overlay.set_state(p, label, excluded)
        row = rows.get(p)
        if was_excluded != bool(excluded):
            changed = True
            if row is not None or p in opened_excluded:
                exclusions += 1 if excluded else -1
        if row is not None:
            index.labels[row] = class_of.get(label, int(index.original_labels[row]))
    try:
        overlay.save()
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
        return load_overlay(index.root).to_dict()
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
