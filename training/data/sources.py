"""``open_dataset``: detect what the user pointed at and build a :class:`DatasetIndex`.

Sources: a folder of class folders (``folders``), ``train/`` + ``validation|valid|val/``
(+ optional ``test/``) folders of class folders (``splits``), a CSV of ids and labels
(``csv``), MNIST-style IDX files (``idx``) and a NumPy ``.npz`` (``npz``). Nothing is
decoded here; files that turn out to be corrupt are reported by ``open_images``.
"""
from __future__ import annotations

import os

import numpy as np

from .index import SPLIT_ALIASES, TRAIN, VALIDATION, BadFile, DatasetIndex
from .scan import class_folders, entry_is_dir, list_dir, walk_images
from .spec import DatasetError, DatasetSpec
from .split import stratified_split


def open_dataset(spec_or_path, events=None, *, overlay: bool = True,
                 dataset_labels: str | None = None) -> DatasetIndex:
    """Index a dataset: every sample's path, label and split, plus the bad-file report.

    Args:
        spec_or_path: a :class:`DatasetSpec`, its dict, or a path.
        events: optional :class:`training.events.Events` for status messages.
        overlay: apply the user's label fixes (``.workbench/labels.json``, see
            :mod:`training.data.overlay`); False gives the source's labels as they are.
        dataset_labels: ``"apply"`` or ``"ignore"`` for label fixes that came with the
            dataset (made elsewhere), remembered as the answer; None: the remembered
            answer, and until there is one they are not applied
            (``training.data.overlay_apply.trusted_overlay``).

    Returns:
        A :class:`DatasetIndex`. Where the source has no split of its own, a stratified
        split with ``spec.seed`` (every class keeps images in train).

    Raises:
        DatasetError: the path does not exist, is not a dataset, or has fewer than two
            usable classes.
    """
    from . import arraysource, csvsource

    spec = DatasetSpec.coerce(spec_or_path)
    path = os.path.abspath(os.path.expanduser(spec.path))
    if not os.path.exists(path):
        raise DatasetError(f"Dataset path does not exist. Received: path={spec.path!r}")
    kind = detect_kind(path) if spec.kind == "auto" else spec.kind
    if events is not None:
        events.on_status(f"Indexing {os.path.basename(path) or path} ({kind})…")
    builders = {"folders": open_folders, "splits": open_splits, "csv": csvsource.open_csv,
                "idx": arraysource.open_idx, "npz": arraysource.open_npz}
    index = builders[kind](path, spec)
    index.spec = spec
    if overlay:
        from .overlay_apply import apply_overlay, trusted_overlay

        try:
            apply_overlay(index, *trusted_overlay(index.root, dataset_labels))
        except ValueError as exc:  # a damaged overlay must not hide the dataset
            index.warnings.append(f"label overlay not applied: {exc}")
    check_usable(index)
    if events is not None:
        events.on_status(f"Indexed {len(index):,} images in {len(index.classes)} classes"
                         f" ({len(index.bad_files)} skipped)")
    return index


def detect_kind(path: str) -> str:
    """The source kind of ``path`` (see module docstring), or :class:`DatasetError`."""
    from .arraysource import find_idx_files
    from .csvsource import LABEL_TABLE_EXTS, is_label_table

    if os.path.isfile(path):
        if is_label_table(path):
            return "csv"
        if path.lower().endswith(".npz"):
            return "npz"
        if find_idx_files(os.path.dirname(path)):
            return "idx"
        raise DatasetError(f"Not a dataset file: expected a folder, a {', a '.join(LABEL_TABLE_EXTS)}, "
                           f"a .npz or IDX files. Received: path={path!r}")
    if find_idx_files(path):
        return "idx"
    entries = list_dir(path, [])
    dirs = {e.name.lower(): e for e in entries if entry_is_dir(e)}
    train = dirs.get("train") or dirs.get("training")
    others = [dirs[n] for n in SPLIT_ALIASES if n in dirs and SPLIT_ALIASES[n] != TRAIN]
    if train is not None and others and _has_subfolders(train.path):
        return "splits"
    # A CSV is the dataset when its images sit beside it, in a folder named like it
    # (train.csv + train/), in images/, or in the only folder there (labels.csv + photos/);
    # a stray metadata CSV next to class folders is not.
    csvs = [e.name for e in entries if is_label_table(e.name) and not entry_is_dir(e)]
    if any(not dirs or len(dirs) == 1 or "images" in dirs or os.path.splitext(n)[0].lower() in dirs
           for n in csvs):
        return "csv"
    npzs = [e for e in entries if e.name.lower().endswith(".npz")]
    if len(npzs) == 1 and not dirs:
        return "npz"
    return "folders"


def _has_subfolders(path: str) -> bool:
    return any(entry_is_dir(e) and not e.name.startswith(".") for e in list_dir(path, []))


def _scan_classes(root: str, bad: list[BadFile], report_images: bool = True,
                  loose: list[str] | None = None) -> dict[str, list[str]]:
    """``{class name: sorted image paths}`` for the class folders of ``root`` (images
    directly in ``root`` go to ``loose`` when given)."""
    out: dict[str, list[str]] = {}
    for entry in class_folders(root, bad, report_images, loose):
        files = walk_images(entry.path, bad)
        if files:
            out[entry.name] = files
        else:
            bad.append(BadFile(entry.path, "empty class folder (no usable images)"))
    return out


def open_folders(path: str, spec: DatasetSpec) -> DatasetIndex:
    """A folder with one sub-folder per class, and/or loose images (unlabelled,
    ``training.data.pool``); split stratified with ``spec.seed``."""
    if not os.path.isdir(path):
        raise DatasetError(f"A class-folder dataset must be a folder. Received: path={path!r}")
    bad: list[BadFile] = []
    loose: list[str] = []
    per_class = _scan_classes(path, bad, loose=loose)
    classes = sorted(per_class)
    paths = [p for c in classes for p in per_class[c]]
    labels = np.concatenate([np.full(len(per_class[c]), i, np.int32) for i, c in enumerate(classes)]
                            or [np.zeros(0, np.int32)])
    splits, warnings = stratified_split(labels, classes, spec.val_fraction, spec.test_fraction, spec.seed)
    return DatasetIndex(root=path, kind="folders", classes=classes, paths=paths, labels=labels,
                        splits=splits, bad_files=bad, warnings=warnings, unlabelled=sorted(loose))


def open_splits(path: str, spec: DatasetSpec) -> DatasetIndex:
    """``train/``, ``validation|valid|val/`` and optional ``test/`` folders of class folders.

    The source's split is kept. Without a validation folder, a stratified validation set
    is carved out of train (``spec.val_fraction``); without a test folder, test stays
    empty (evaluation then uses validation).
    """
    bad: list[BadFile] = []
    split_dirs: dict[int, str] = {}
    for entry in list_dir(path, bad):
        split = SPLIT_ALIASES.get(entry.name.lower())
        if split is not None and entry_is_dir(entry) and split not in split_dirs:
            split_dirs[split] = entry.path
    if TRAIN not in split_dirs:
        raise DatasetError(f"No train/ folder in the split dataset. Received: path={path!r}")
    found: dict[int, dict[str, list[str]]] = {}
    warnings: list[str] = []
    loose: list[str] = []
    for split, folder in sorted(split_dirs.items()):
        if split != TRAIN and not _has_subfolders(folder):
            # A test/ folder of loose images (as many downloads have): unlabelled images.
            images = walk_images(folder, bad)
            loose += images
            warnings.append(f"{os.path.basename(folder)}/ has no class folders: its "
                            f"{len(images):,} images are unlabelled")
            continue
        found[split] = _scan_classes(folder, bad, loose=loose)
    classes = sorted(set().union(*(d.keys() for d in found.values())))
    paths, labels, splits = [], [], []
    for split, per_class in sorted(found.items()):
        for i, c in enumerate(classes):
            files = per_class.get(c, [])
            paths += files
            labels += [i] * len(files)
            splits += [split] * len(files)
    labels = np.asarray(labels, np.int32)
    splits = np.asarray(splits, np.uint8)
    if VALIDATION not in found and len(labels):
        train_rows = np.flatnonzero(splits == TRAIN)
        carved, more = stratified_split(labels[train_rows], classes, spec.val_fraction, 0.0, spec.seed)
        splits[train_rows] = carved
        warnings += more
        warnings.append(f"no validation folder: {spec.val_fraction:.0%} of each class in train/ "
                        f"used for validation (seed {spec.seed})")
    for i, c in enumerate(classes):
        if not np.any((labels == i) & (splits == TRAIN)):
            warnings.append(f"class {c!r} has no training images")
    return DatasetIndex(root=path, kind="splits", classes=classes, paths=paths, labels=labels,
                        splits=splits, bad_files=bad, warnings=warnings, has_source_split=True,
                        unlabelled=sorted(loose))


def check_usable(index: DatasetIndex) -> None:
    """Raise :class:`DatasetError` unless at least two classes have images, or the dataset
    has images to label (unlabelled ones, or classes or labels made in the app): then
    ``train`` says what is missing (:func:`check_trainable`)."""
    info = index.overlay or {}
    if index.unlabelled or info.get("class_edits") or info.get("labelled_in_app"):
        return
    counts = np.bincount(index.labels, minlength=len(index.classes)) if len(index.labels) else []
    usable = [c for c, n in zip(index.classes, counts) if n > 0]
    if len(usable) < 2:
        listed = ", ".join(repr(c) for c in usable) or "none"
        extra = f"; {len(index.bad_files)} item(s) skipped, e.g. {index.bad_files[0].path}: " \
                f"{index.bad_files[0].reason}" if index.bad_files else ""
        raise DatasetError(f"A dataset needs at least two classes with images; found {len(usable)} "
                           f"({listed}) in {index.root!r} (read as {index.kind}){extra}")


def check_trainable(index: DatasetIndex) -> dict[str, int]:
    """The labelled images of each class, or :class:`DatasetError` saying why ``index``
    cannot train: fewer than two classes, or a class with fewer than
    ``MIN_IMAGES_PER_CLASS`` labelled images (unlabelled images never train)."""
    from .split import MIN_IMAGES_PER_CLASS

    counts = index.counts()
    totals = {c: sum(counts[s][c] for s in counts) for c in index.classes}
    left = f" {len(index.unlabelled):,} image(s) are unlabelled." if index.unlabelled else ""
    if len(totals) < 2:
        raise DatasetError(f"Training needs at least two classes; {index.root!r} has "
                           f"{len(totals)} ({', '.join(map(repr, totals)) or 'none'}). Create "
                           f"classes and label images first.{left}")
    few = {c: n for c, n in totals.items() if n < MIN_IMAGES_PER_CLASS}
    if few:
        listed = ", ".join(f"{c!r} has {n}" for c, n in few.items())
        raise DatasetError(f"Each class needs at least {MIN_IMAGES_PER_CLASS} labelled images "
                           f"to train: {listed}. Label more images of "
                           f"{'that class' if len(few) == 1 else 'those classes'}, or delete "
                           f"{'it' if len(few) == 1 else 'them'}.{left}")
    return totals
