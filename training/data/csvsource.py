"""CSV-labelled datasets: a table of image ids (or paths) and labels plus an image folder.

The one owner of "is this a label table, and how is it delimited": ``.csv`` (delimiter
sniffed) and ``.tsv`` (tabs) files are detected as tables (:func:`is_label_table`), and
the app reads a table's columns with :func:`read_header`, the same way indexing does.

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
from .index import SPLIT_ALIASES, TRAIN, VALIDATION, BadFile, DatasetIndex
from .formats import IMAGE_EXT_ORDER
from .scan import IMAGE_EXTS, list_dir
from .spec import DatasetError, DatasetSpec
from .split import stratified_split

ID_NAMES = ("id", "image_id", "imageid", "img_id", "image", "img", "filename", "file_name", "file",
            "fname", "path", "filepath", "file_path", "image_path", "img_path", "image_name", "name")
LABEL_NAMES = ("label", "labels", "class", "class_name", "classname", "category", "target", "y",
               "class_id", "label_id", "breed", "species", "diagnosis")
SPLIT_COLUMNS = ("split", "subset")
MISSING = {"", "nan", "none", "null", "na", "n/a", "?", "-"}
BINARY = {"0", "1", "true", "false", "yes", "no"}
# Label tables by extension, with the delimiter each implies (None: sniffed among
# SNIFFED_DELIMITERS). The app's "Open CSV…" dialog lists these and ``.txt``
# (EXPLICIT_TABLE_EXTS), which it opens as a table because the person said it is one.
LABEL_TABLE_DELIMITERS = {".csv": None, ".tsv": "\t"}
LABEL_TABLE_EXTS = tuple(LABEL_TABLE_DELIMITERS)
EXPLICIT_TABLE_EXTS = (*LABEL_TABLE_EXTS, ".txt")
SNIFFED_DELIMITERS = ",;\t|"
__all__ = ["ImagesFolderNotFound", "find_csv", "guess_column", "is_label_table", "open_csv",
           "read_header"]


def is_label_table(name: str) -> bool:
    """Whether a file name is a label table's (``LABEL_TABLE_EXTS``, any case)."""
    return os.path.splitext(name)[1].lower() in LABEL_TABLE_DELIMITERS


def table_dialect(text: str, path: str):
    """The ``csv`` dialect of a label table: tabs for a ``.tsv``; else sniffed from its
    first 4 KB among ``SNIFFED_DELIMITERS`` (the excel dialect when it cannot tell)."""
    delimiter = LABEL_TABLE_DELIMITERS.get(os.path.splitext(path)[1].lower())
    if delimiter == "\t":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=SNIFFED_DELIMITERS)
    except csv.Error:
        return csv.excel


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # never fails; odd characters are better than no dataset


def read_header(path: str, max_bytes: int = 65536) -> list[str]:
    """The column names of a label table, read as indexing reads it but from its first
    ``max_bytes`` only (cheap enough for the GUI thread).

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as f:
        raw = f.read(max_bytes)
    if len(raw) == max_bytes and b"\n" in raw:
        raw = raw[:raw.rindex(b"\n")]   # whole lines only: no character cut in two
    text = _decode(raw)
    row = next(csv.reader(text.splitlines(), table_dialect(text, path)), [])
    return [h.strip() for h in row]


def find_csv(folder: str) -> str:
    """The label CSV in ``folder``: ``train.csv``/``labels.csv``, or the one named like a sub-folder."""
    entries = list_dir(folder, [])
    dirs = {e.name.lower() for e in entries if e.is_dir()}
    csvs = [e.name for e in entries if is_label_table(e.name) and e.is_file()]
    for want in ("train", "labels"):
        for name in csvs:
            if os.path.splitext(name)[0].lower() == want:
                return os.path.join(folder, name)
    matching = [n for n in csvs if os.path.splitext(n)[0].lower() in dirs] or csvs
    if len(matching) == 1:
        return os.path.join(folder, matching[0])
    raise DatasetError(f"Cannot tell which CSV holds the labels in {folder!r}: found "
                       f"{', '.join(csvs) or 'none'}. Open the CSV file itself.")


def guess_column(header: list[str], what: str, exclude: int = -1) -> int | None:
    """The column of ``header`` that holds the ``what`` (``"id"`` or ``"label"``), by its
    name, or None when the names do not tell; ``exclude``: a column already taken."""
    low = [h.strip().lower() for h in header]
    for name in (LABEL_NAMES if what == "label" else ID_NAMES):
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
    return None


def _column(header: list[str], chosen: str | None, what: str, csv_path: str,
            exclude: int = -1) -> int:
    low = [h.strip().lower() for h in header]
    if chosen is not None:
        if chosen.strip().lower() not in low:
            raise DatasetError(f"The {what} column {chosen!r} is not in {os.path.basename(csv_path)}. "
                               f"Columns: {', '.join(header)}")
        return low.index(chosen.strip().lower())
    found = guess_column(header, what, exclude)
    if found is not None:
        return found
    raise DatasetError(f"Cannot tell which column of {os.path.basename(csv_path)} holds the {what}s. "
                       f"Columns: {', '.join(header)}. Choose it with the {what} column option.")


def _read_rows(csv_path: str) -> list[list[str]]:
    try:
        with open(csv_path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DatasetError(f"Cannot read {csv_path!r}: {e.strerror or e}") from e
    text = _decode(raw)
    return [row for row in csv.reader(text.splitlines(), table_dialect(text, csv_path))]


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
            for candidate in [base] + [base + e for ext in IMAGE_EXT_ORDER for e in (ext, ext.upper())]:
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
    id_col = _column(header, spec.id_column, "id", csv_path)
    label_col = _column(header, spec.label_column, "label", csv_path, exclude=id_col)
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
            if value not in SPLIT_ALIASES:
                bad.append(BadFile(shown, f"{where}: unknown split {row[split_col]!r} "
                                          f"(expected train, validation or test)"))
                continue
            split = SPLIT_ALIASES[value]
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
