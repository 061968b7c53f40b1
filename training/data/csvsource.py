"""CSV-labelled datasets: a table of image ids (or paths) and labels plus an image folder.

Like the aerial-cactus seed's ``train.csv`` (``id,has_cactus``) with images in
``train/``. Ids may carry an extension or not (``img001`` finds ``img001.jpg``) and may
be relative paths. Every row that cannot be used is reported with the file it names and
the CSV line number.
"""
from __future__ import annotations

import csv
import os

import numpy as np

from .csvfolder import ImagesFolderNotFound, find_images_dir
from .index import TEST, TRAIN, VALIDATION, BadFile, DatasetIndex
from .scan import IMAGE_EXTS, list_dir
from .spec import DatasetError, DatasetSpec
from .split import stratified_split

ID_NAMES = ("id", "image_id", "imageid", "img_id", "image", "img", "filename", "file_name", "file",
            "fname", "path", "filepath", "file_path", "image_path", "img_path", "image_name", "name")
LABEL_NAMES = ("label", "labels", "class", "class_name", "classname", "category", "target", "y",
               "class_id", "label_id", "breed", "species", "diagnosis")
SPLIT_COLUMNS = ("split", "subset")
SPLIT_VALUES = {"train": TRAIN, "training": TRAIN, "val": VALIDATION, "valid": VALIDATION,
                "validation": VALIDATION, "test": TEST, "testing": TEST}
MISSING = {"", "nan", "none", "null", "na", "n/a", "?", "-"}
BINARY = {"0", "1", "true", "false", "yes", "no"}
__all__ = ["ImagesFolderNotFound", "find_csv", "open_csv"]


def find_csv(folder: str) -> str:
    """The label CSV in ``folder``: ``train.csv``/``labels.csv``, or the one named like a sub-folder."""
    entries = list_dir(folder, [])
    dirs = {e.name.lower() for e in entries if e.is_dir()}
    csvs = [e.name for e in entries if e.name.lower().endswith(".csv") and e.is_file()]
    for want in ("train.csv", "labels.csv"):
        for name in csvs:
            if name.lower() == want:
                return os.path.join(folder, name)
    matching = [n for n in csvs if os.path.splitext(n)[0].lower() in dirs] or csvs
    if len(matching) == 1:
        return os.path.join(folder, matching[0])
    raise DatasetError(f"Cannot tell which CSV holds the labels in {folder!r}: found "
                       f"{', '.join(csvs) or 'none'}. Open the CSV file itself.")


def _column(header: list[str], chosen: str | None, names: tuple[str, ...], what: str,
            csv_path: str, exclude: int = -1) -> int:
    low = [h.strip().lower() for h in header]
    if chosen is not None:
        if chosen.strip().lower() not in low:
            raise DatasetError(f"The {what} column {chosen!r} is not in {os.path.basename(csv_path)}. "
                               f"Columns: {', '.join(header)}")
        return low.index(chosen.strip().lower())
    for name in names:
        if name in low and low.index(name) != exclude:
            return low.index(name)
    if what == "label":
        for i, h in enumerate(low):
            if i != exclude and (h.startswith(("has_", "is_")) or "label" in h or "class" in h):
                return i
    else:
        for i, h in enumerate(low):
            if i != exclude and any(k in h for k in ("file", "image", "path", "id")):
                return i
    if len(header) == 2:
        return 1 if what == "label" else 0
    raise DatasetError(f"Cannot tell which column of {os.path.basename(csv_path)} holds the {what}s. "
                       f"Columns: {', '.join(header)}. Choose it with the {what} column option.")


def _read_rows(csv_path: str) -> list[list[str]]:
    try:
        with open(csv_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DatasetError(f"Cannot read {csv_path!r}: {e.strerror or e}") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # never fails; odd characters are better than no dataset
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(text.splitlines(), dialect)]


def _resolver(images_dir: str):
    """A function mapping an id to an existing file path (or None), with one directory listing."""
    by_name, by_lower, by_stem = {}, {}, {}
    for e in list_dir(images_dir, []):
        by_name[e.name] = e.path
        by_lower.setdefault(e.name.lower(), e.path)
        stem, ext = os.path.splitext(e.name)
        if ext.lower() in IMAGE_EXTS:
            by_stem.setdefault(stem, e.path)
            by_stem.setdefault(stem.lower(), e.path)

    def resolve(rid: str) -> str | None:
        if "/" in rid or "\\" in rid:
            base = os.path.join(images_dir, rid.replace("\\", "/"))
            for candidate in [base] + [base + ext for ext in (".jpg", ".jpeg", ".png", ".JPG", ".PNG")]:
                if os.path.isfile(candidate):
                    return candidate
            return None
        return by_name.get(rid) or by_lower.get(rid.lower()) or by_stem.get(rid) or by_stem.get(rid.lower())

    return resolve, set(by_name.values())


def open_csv(path: str, spec: DatasetSpec) -> DatasetIndex:
    """Index a CSV-labelled dataset (see module docstring)."""
    csv_path = path if os.path.isfile(path) else find_csv(path)
    csv_name = os.path.basename(csv_path)
    rows = _read_rows(csv_path)
    if not rows or len(rows[0]) < 2:
        raise DatasetError(f"{csv_name} needs a header row with at least an id and a label column. "
                           f"Received first row: {rows[0] if rows else 'nothing (empty file)'}")
    header = [h.strip() for h in rows[0]]
    id_col = _column(header, spec.id_column, ID_NAMES, "id", csv_path)
    label_col = _column(header, spec.label_column, LABEL_NAMES, "label", csv_path, exclude=id_col)
    if id_col == label_col:
        raise DatasetError(f"The id and label columns must differ. Received: {header[id_col]!r} for both")
    split_col = next((i for i, h in enumerate(header) if h.lower() in SPLIT_COLUMNS), None)
    binary = header[label_col].lower().startswith(("has_", "is_"))

    folder = os.path.dirname(csv_path)
    if spec.images_dir:
        # Relative to the current folder (as typed on a command line), else to the CSV.
        given = os.path.expanduser(spec.images_dir)
        images_dir = os.path.abspath(given) if os.path.isdir(given) else os.path.join(folder, given)
    else:
        ids = [r[id_col].strip() for r in rows[1:1 + 4 * 50] if len(r) > id_col]
        images_dir = find_images_dir(csv_path, ids, _resolver, header)
    if not os.path.isdir(images_dir):
        raise DatasetError(f"Image folder for {csv_name} not found. Received: images_dir={images_dir!r}")
    resolve, _ = _resolver(images_dir)

    bad: list[BadFile] = []
    seen: dict[str, tuple[int, str]] = {}
    paths, names, split_of = [], [], []
    width = max(id_col, label_col, split_col or 0) + 1
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{csv_name} line {line}"
        if len(row) < width:
            bad.append(BadFile(f"{csv_path}:{line}", f"{where}: too few columns ({len(row)})"))
            continue
        rid, label = row[id_col].strip(), row[label_col].strip()
        if not rid:
            bad.append(BadFile(f"{csv_path}:{line}", f"{where}: empty id"))
            continue
        found = resolve(rid)
        shown = found or os.path.join(images_dir, rid)
        if found is None:
            bad.append(BadFile(shown, f"listed in {where} but the file does not exist"))
            continue
        if found in seen:
            first_line, first_label = seen[found]
            differs = f" with a different label {label!r}" if label != first_label else ""
            bad.append(BadFile(shown, f"duplicate row in {where}{differs} (first listed on line "
                                      f"{first_line}), ignored"))
            continue
        seen[found] = (line, label)
        if label.lower() in MISSING:
            bad.append(BadFile(shown, f"{where}: missing label {label!r}"))
            continue
        if binary and label.lower() not in BINARY:
            bad.append(BadFile(shown, f"{where}: unknown label {label!r} (column "
                                      f"{header[label_col]!r} holds 0/1 values)"))
            continue
        if os.path.splitext(found)[1].lower() not in IMAGE_EXTS:
            bad.append(BadFile(shown, f"not an image (extension {os.path.splitext(found)[1] or 'none'})"))
            continue
        split = TRAIN
        if split_col is not None:
            value = row[split_col].strip().lower()
            if value not in SPLIT_VALUES:
                bad.append(BadFile(shown, f"{where}: unknown split {row[split_col]!r} "
                                          f"(expected train, validation or test)"))
                continue
            split = SPLIT_VALUES[value]
        paths.append(found)
        names.append(label)
        split_of.append(split)

    distinct = set(names)
    numeric = all(n.lstrip("-").isdigit() for n in distinct)
    classes = sorted(distinct, key=(lambda n: (int(n), n)) if numeric else None)
    lookup = {c: i for i, c in enumerate(classes)}
    labels = np.asarray([lookup[n] for n in names], np.int32)
    warnings: list[str] = []
    if split_col is None:
        splits, warnings = stratified_split(labels, classes, spec.val_fraction, spec.test_fraction, spec.seed)
    else:
        splits = np.asarray(split_of, np.uint8)
        if not np.any(splits == VALIDATION) and len(labels):
            train_rows = np.flatnonzero(splits == TRAIN)
            carved, warnings = stratified_split(labels[train_rows], classes, spec.val_fraction, 0.0, spec.seed)
            splits[train_rows] = carved
    return DatasetIndex(root=csv_path, kind="csv", classes=classes, paths=paths, labels=labels,
                        splits=splits, bad_files=bad, warnings=warnings,
                        has_source_split=split_col is not None)
