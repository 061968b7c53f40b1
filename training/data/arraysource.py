"""Array sources: MNIST/Fashion-MNIST IDX files and NumPy ``.npz`` files.

The images are read into ``DatasetIndex.arrays`` (uint8) at once; sample paths are
``"<file>#<row>"`` so every sample still has a name in reports and galleries.
"""
from __future__ import annotations

import gzip
import os
import re
import struct

import numpy as np

from .index import TEST, TRAIN, VALIDATION, BadFile, DatasetIndex
from .scan import list_dir
from .spec import DatasetError, DatasetSpec
from .split import stratified_split

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
_IDX_RE = re.compile(r"^(?P<prefix>.*?)[-._]?(?P<what>images|labels)[-.]idx(?P<dims>[13])[-.]ubyte(?:\.gz)?$",
                     re.IGNORECASE)


def pick_file(path: str, suffix: str, preferred: tuple[str, ...]) -> str:
    """``path`` itself if it is a file, else the one (or preferred) ``suffix`` file in it."""
    if os.path.isfile(path):
        return path
    names = sorted(e.name for e in list_dir(path, []) if e.name.lower().endswith(suffix))
    for want in preferred:
        for name in names:
            if name.lower() == want:
                return os.path.join(path, name)
    if len(names) == 1:
        return os.path.join(path, names[0])
    raise DatasetError(f"Expected one {suffix} file in the folder, found {len(names)}"
                       f"{': ' + ', '.join(names[:10]) if names else ''}. Pass the file itself. "
                       f"Received: path={path!r}")


def find_idx_files(folder: str) -> dict[str, dict[str, str]]:
    """``{prefix: {"images": path, "labels": path}}`` for the IDX files in ``folder``."""
    if not folder or not os.path.isdir(folder):
        return {}
    out: dict[str, dict[str, str]] = {}
    for e in list_dir(folder, []):
        m = _IDX_RE.match(e.name)
        if m and not e.name.startswith("."):
            out.setdefault(m["prefix"].lower(), {})[m["what"].lower()] = e.path
    return out


def _read_idx(path: str, want_dims: int, bad: list[BadFile]) -> np.ndarray | None:
    """The array in one IDX file (ubyte only), or None with the reason in ``bad``."""
    try:
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        bad.append(BadFile(path, f"cannot read IDX file: {e}"))
        return None
    if len(data) < 4 + 4 * want_dims:
        bad.append(BadFile(path, f"not an IDX file (only {len(data)} bytes)"))
        return None
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or ndim != want_dims:
        bad.append(BadFile(path, f"not an IDX ubyte file with {want_dims} dimension(s) "
                                 f"(header {data[:4].hex()})"))
        return None
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    per_item = int(np.prod(dims[1:])) if ndim > 1 else 1
    complete = min(dims[0], len(body) // per_item)
    if complete < dims[0]:
        bad.append(BadFile(path, f"truncated IDX file: header says {dims[0]} items, "
                                 f"data holds {complete}; using {complete}"))
    return body[:complete * per_item].reshape((complete,) + tuple(dims[1:]))


def class_names_for(values: np.ndarray, folder: str, explicit=None) -> tuple[list[str], np.ndarray]:
    """Class names and 0-based labels for integer label values."""
    values = np.asarray(values)
    if explicit is not None and len(explicit) and values.size and values.min() >= 0 \
            and values.max() < len(explicit):
        return [str(n) for n in explicit], values.astype(np.int32)
    present = np.unique(values)
    if "fashion" in folder.lower() and present.size and present.min() >= 0 and present.max() < 10:
        return list(FASHION_CLASSES), values.astype(np.int32)
    if present.size and present.min() >= 0 and present.max() < 10 and present.size > 5:
        return [str(i) for i in range(10)], values.astype(np.int32)  # MNIST-like digits
    lookup = {v: i for i, v in enumerate(present.tolist())}
    return [str(v) for v in present.tolist()], np.asarray([lookup[v] for v in values.tolist()], np.int32)


def _finish(root, kind, paths, values, split_of, arrays, bad, spec, folder, explicit=None):
    classes, labels = class_names_for(values, folder, explicit)
    # Drop names of classes with no samples so "every class is present in train" holds.
    present = np.unique(labels)
    if len(present) < len(classes):
        remap = -np.ones(len(classes), np.int32)
        remap[present] = np.arange(len(present))
        classes, labels = [classes[i] for i in present], remap[labels]
    warnings: list[str] = []
    has_split = split_of is not None and np.any(split_of != TRAIN)
    if not has_split:
        splits, warnings = stratified_split(labels, classes, spec.val_fraction, spec.test_fraction, spec.seed)
    else:
        splits = split_of.astype(np.uint8)
        if not np.any(splits == VALIDATION):
            train_rows = np.flatnonzero(splits == TRAIN)
            carved, warnings = stratified_split(labels[train_rows], classes, spec.val_fraction, 0.0, spec.seed)
            splits[train_rows] = carved
    return DatasetIndex(root=root, kind=kind, classes=classes, paths=paths, labels=labels, splits=splits,
                        arrays=arrays, bad_files=bad, warnings=warnings, has_source_split=bool(has_split))


def open_idx(path: str, spec: DatasetSpec) -> DatasetIndex:
    """MNIST-style IDX files: ``train``/``t10k`` pairs keep their split (validation is carved
    out of train); a single pair is split stratified. Mismatched counts use the shorter."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    pairs = find_idx_files(folder)
    bad: list[BadFile] = []
    images, values, paths, split_of = [], [], [], []
    def split_of_prefix(prefix: str) -> int:
        return TEST if prefix.startswith(("t10k", "test")) else TRAIN

    for prefix in sorted(pairs, key=lambda p: (split_of_prefix(p), p)):  # train rows first
        pair = pairs[prefix]
        if "images" not in pair or "labels" not in pair:
            lone = pair.get("images") or pair.get("labels")
            bad.append(BadFile(lone, "IDX file without its matching images/labels file"))
            continue
        x = _read_idx(pair["images"], 3, bad)
        y = _read_idx(pair["labels"], 1, bad)
        if x is None or y is None:
            continue
        n = min(len(x), len(y))
        if len(x) != len(y):
            bad.append(BadFile(pair["labels"], f"{len(x)} images but {len(y)} labels in this pair; "
                                               f"using the first {n}"))
        split = split_of_prefix(prefix)
        images.append(x[:n])
        values.append(y[:n])
        paths += [f"{pair['images']}#{i}" for i in range(n)]
        split_of.append(np.full(n, split, np.uint8))
    if not images:
        raise DatasetError(f"No usable IDX image/label file pairs in {folder!r}"
                           + (f": {bad[0].path}: {bad[0].reason}" if bad else ""))
    shapes = {a.shape[1:] for a in images}
    if len(shapes) > 1:
        raise DatasetError(f"IDX files in {folder!r} hold images of different sizes: {sorted(shapes)}")
    return _finish(folder, "idx", paths, np.concatenate(values), np.concatenate(split_of),
                   np.ascontiguousarray(np.concatenate(images)), bad, spec, folder)


def _to_uint8(x: np.ndarray, npz: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * 255
    if x.dtype.kind == "f":
        scale = 255.0 if x.size and np.nanmax(x) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(x) * scale + 0.5, 0, 255).astype(np.uint8)
    if x.dtype.kind in "iub":
        top = x.max() if x.size else 0
        if top > 255:  # 16-bit data
            return (x.astype(np.float64) * 255 / max(int(top), 65535) + 0.5).astype(np.uint8)
        return np.clip(x, 0, 255).astype(np.uint8)
    raise DatasetError(f"{npz}: images must be numeric. Received dtype {x.dtype}")


def open_npz(path: str, spec: DatasetSpec) -> DatasetIndex:
    """A ``.npz`` with ``x``/``y`` (or ``images``/``labels``, or ``x_train``/``y_train``/
    ``x_test``/``y_test`` as in ``keras.datasets``) and optional ``class_names``."""

    npz = pick_file(path, ".npz", ())
    try:
        # allow_pickle=False: an npz is data, it must not be able to run code.
        with np.load(npz, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except Exception as e:  # zip/format errors come in many types
        raise DatasetError(f"Cannot read {npz!r} as a NumPy .npz without pickles: {e}") from e
    groups = []
    for xk, yk, split in (("x", "y", TRAIN), ("images", "labels", TRAIN), ("x_train", "y_train", TRAIN),
                          ("x_val", "y_val", VALIDATION), ("x_valid", "y_valid", VALIDATION),
                          ("x_test", "y_test", TEST)):
        if xk in data and yk in data:
            groups.append((data[xk], data[yk], split))
    if not groups:
        raise DatasetError(f"{npz!r} needs arrays 'x' and 'y' (or x_train/y_train). "
                           f"Found: {', '.join(sorted(data)) or 'none'}")
    bad: list[BadFile] = []
    xs, ys, split_of = [], [], []
    for x, y, split in groups:
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (3, 4)):
            raise DatasetError(f"{npz}: images must be (N, H, W) or (N, H, W, 1|3|4). Received shape {x.shape}")
        if y.ndim == 2:  # one-hot
            y = y.argmax(axis=1)
        n = min(len(x), len(y))
        if len(x) != len(y):
            bad.append(BadFile(npz, f"{len(x)} images but {len(y)} labels; using the first {n}"))
        xs.append(_to_uint8(x[:n, ..., :3] if x.ndim == 4 else x[:n], npz))
        ys.append(y[:n])
        split_of.append(np.full(n, split, np.uint8))
    if len({a.shape[1:] for a in xs}) > 1:
        raise DatasetError(f"{npz}: image arrays have different shapes: {[a.shape for a in xs]}")
    y = np.concatenate(ys)
    explicit = data.get("class_names")
    if y.dtype.kind in "US":
        names = sorted(set(y.tolist()))
        explicit, y = names, np.asarray([names.index(v) for v in y.tolist()])
    elif y.dtype.kind == "f":
        y = y.astype(np.int64)
    x = np.ascontiguousarray(np.concatenate(xs))
    paths = [f"{npz}#{i}" for i in range(len(x))]
    explicit = list(explicit.tolist() if isinstance(explicit, np.ndarray) else explicit) \
        if explicit is not None else None
    return _finish(npz, "npz", paths, y, np.concatenate(split_of), x, bad, spec, npz, explicit)
