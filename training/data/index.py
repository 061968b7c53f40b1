"""The dataset index: every sample's location, label and split, plus the bad-file report.

An index is cheap to build (it lists files, it does not decode them), so the GUI can show
70,000 thumbnails' worth of entries at once. Decoding happens later, batch by
batch, in ``training.data.images`` (``open_images``); files that fail to decode are added
to ``bad_files`` there.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .spec import DatasetSpec

TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")
# What a split folder or a CSV's split column may be called (lower case): one list for both.
SPLIT_ALIASES = {"train": TRAIN, "training": TRAIN, "validation": VALIDATION, "valid": VALIDATION,
                 "val": VALIDATION, "test": TEST, "testing": TEST}


@dataclass(frozen=True)
class BadFile:
    """One input item that could not be used, and why (shown to the user verbatim)."""

    path: str
    reason: str

    def to_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason}


@dataclass
class DatasetIndex:
    """Every usable sample of a dataset.

    Attributes:
        root: the path the user opened.
        kind: ``"folders"``, ``"splits"``, ``"csv"``, ``"idx"`` or ``"npz"``.
        classes: class names; ``labels`` index into this list.
        paths: one entry per sample. For file sources the image path; for array
            sources (IDX, npz) ``"<file>#<row>"`` so every sample still has a name.
        labels: int32 array, one per sample.
        splits: uint8 array of ``TRAIN``/``VALIDATION``/``TEST``.
        arrays: for array sources, the uint8 images (N, H, W) or (N, H, W, C);
            ``None`` for file sources.
        bad_files: everything that was skipped, with the reason.
        warnings: dataset-level remarks (a class with too few images to split, ...).
        has_source_split: True when the split came from the source (train/val/test
            folders, IDX train/t10k files) rather than from our stratified split.
    """

    root: str
    kind: str
    classes: list[str]
    paths: list[str]
    labels: np.ndarray
    splits: np.ndarray
    arrays: np.ndarray | None = None
    bad_files: list[BadFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    has_source_split: bool = False
    # The DatasetSpec this index was opened from (None when built by hand), so a run
    # folder can record exactly how to reopen the same split.
    spec: DatasetSpec | None = None
    # Set by the label overlay (training.data.overlay_apply.apply_overlay): the source's labels
    # of these rows, and the overlay's summary (None when no overlay was applied).
    original_labels: np.ndarray | None = None
    overlay: dict | None = None
    # Images without a class (loose images of a folder, images of a class deleted in the
    # app): never rows, so training, evaluation and health cannot take them for a class
    # (training.data.pool). Sorted paths.
    unlabelled: list[str] = field(default_factory=list)
    # The source's own classes, before the overlay's class edits (None: no overlay applied).
    source_classes: list[str] | None = None
    _names: list | None = field(default=None, init=False, repr=False, compare=False)
    # Rows whose file failed to decode (found by training or the up-front check): still
    # listed in ``paths`` (so the store's key stays the same) but left out of counts.
    unusable: set = field(default_factory=set, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.paths)

    def add_bad_files(self, records) -> int:
        """Record items another process found unusable (a training process's
        ``bad_files``: ``[{"path", "reason"}, …]``): listed once in ``bad_files``, and
        rows of this index also left out of the counts. Returns how many were new."""
        known = {b.path for b in self.bad_files}
        rows = {p: i for i, p in enumerate(self.paths)}
        added = 0
        for record in records or []:
            path, reason = str(record.get("path", "")), str(record.get("reason", ""))
            if not path or path in known:
                continue
            known.add(path)
            self.bad_files.append(BadFile(path, reason))
            if path in rows:
                self.unusable.add(rows[path])
            added += 1
        return added

    def names(self) -> list[str]:
        """The file name of every sample (``"<file>#<row>"`` for arrays), computed once:
        70,000 of them take ~30 ms, too long for a GUI thread, so the app's indexing
        worker asks first."""
        if self._names is None or len(self._names) != len(self.paths):
            self._names = [os.path.basename(p) for p in self.paths]
        return self._names

    def unlabelled_names(self) -> list[str]:
        """The file names of ``unlabelled``, computed once (as :meth:`names`)."""
        cached = self.__dict__.get("_unlabelled_names")
        if cached is None or len(cached) != len(self.unlabelled):
            cached = [os.path.basename(p) for p in self.unlabelled]
            self.__dict__["_unlabelled_names"] = cached
        return cached

    def indices(self, split: int) -> np.ndarray:
        """Row numbers of the samples in one split."""
        return np.flatnonzero(self.splits == split)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{split name: {class name: count}}`` for every split and class (zeros included)."""
        out: dict[str, dict[str, int]] = {}
        usable = np.ones(len(self.labels), bool)
        if self.unusable:
            usable[list(self.unusable)] = False
        for s, name in enumerate(SPLIT_NAMES):
            per_class = np.bincount(self.labels[(self.splits == s) & usable], minlength=len(self.classes))
            out[name] = {c: int(n) for c, n in zip(self.classes, per_class)}
        return out

    def fingerprint(self) -> str:
        """A short hash of the sample list, labels and splits (not the pixels).

        Stored in run folders so a run can tell whether it is evaluated on the data it
        was trained on.
        """
        h = hashlib.sha256()
        h.update(json.dumps([self.kind, self.classes]).encode())
        h.update("\n".join(self.paths).encode("utf-8", "surrogatepass"))
        h.update(np.ascontiguousarray(self.labels, dtype=np.int32).tobytes())
        h.update(np.ascontiguousarray(self.splits, dtype=np.uint8).tobytes())
        return h.hexdigest()[:16]

    def image_stats(self, sample: int = 200) -> dict:
        """Image size/mode statistics from a sample of file headers (see ``training.data.stats``)."""
        from .stats import image_stats

        return image_stats(self, sample)

    def summary(self) -> dict:
        """Plain-data summary for the CLI's ``--json`` and the GUI."""
        return {
            "root": self.root,
            "kind": self.kind,
            "classes": list(self.classes),
            "counts": self.counts(),
            "num_samples": len(self),
            "labelled": len(self),
            "unlabelled": len(self.unlabelled),
            "has_source_split": self.has_source_split,
            "bad_files": [b.to_dict() for b in self.bad_files],
            "warnings": list(self.warnings),
        }
