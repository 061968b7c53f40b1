"""Decode images for galleries and large previews, off the GUI thread.

Images come from files (through the core's ``decode_image``: EXIF orientation, odd
modes, bounded memory for huge files) or, for array datasets (IDX, npz), from the
loaded ``DatasetIndex.arrays``. Results are uint8 numpy arrays; the GUI thread turns them
into pixmaps (``workbench.workers.qimages.image_to_qimage``).
"""
from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Signal

from workbench.workers.pool import PoolWorker

# Thumbnails are sent in small chunks so the first ones appear at once.
_CHUNK = 16


def fit_size(arr: np.ndarray, max_side: int) -> np.ndarray:
    """Fit ``arr`` in ``max_side`` pixels (the core's ``fit_in_box``: tiny images enlarged
    crisply up to 4x, big ones shrunk with the training resize)."""
    from training.data import fit_in_box

    return fit_in_box(arr, max_side)


def load_image(path: str, max_side: int) -> np.ndarray:
    """Decode ``path`` fitted in ``max_side`` pixels. Raises the core's ``DecodeError``."""
    from training.data import decode_to_fit

    return decode_to_fit(path, max_side)


class ArrayLookup:
    """Find the pixels of ``"<file>#<n>"`` samples in a loaded array dataset.

    Jobs made on the GUI thread build one (a heatmap's, the unknown check's), so it must
    not cost a pass over every row: a map of Fashion-MNIST's 70,000 paths took 20-40 ms
    there, a stall while paging the grid. Sample ``n`` of a file is at the row of its
    ``#0`` plus ``n`` (the readers list each file's samples in order), found once per file
    with a scan in C; a full map is built only if that guess is ever wrong.
    """

    def __init__(self, dataset=None):
        self.arrays = getattr(dataset, "arrays", None)
        self.paths = dataset.paths if self.arrays is not None else []
        self._starts: dict[str, int] = {}    # file -> row of its "#0" (-1: not listed)
        self._rows: dict[str, int] | None = None

    def row(self, path: str) -> int | None:
        """The row of ``path`` in the dataset's arrays (None: not one of its samples)."""
        if self.arrays is None:
            return None
        file, sep, n = path.rpartition("#")
        if not (sep and n.isdigit()):
            return None   # a file on disk (a photo), never one of the arrays' samples
        start = self._starts.get(file)
        if start is None:
            try:
                start = self.paths.index(f"{file}#0")
            except ValueError:
                start = -1
            self._starts[file] = start
        i = start + int(n)
        if start >= 0 and i < len(self.paths) and self.paths[i] == path:
            return i
        if self._rows is None:
            self._rows = {p: i for i, p in enumerate(self.paths)}
        return self._rows.get(path)

    def get(self, path: str) -> np.ndarray | None:
        i = self.row(path)
        return None if i is None else np.asarray(self.arrays[i], dtype=np.uint8)


def image_for(path: str, max_side: int, lookup: ArrayLookup) -> tuple:
    """``(array or None, reason or None)`` for one gallery entry."""
    arr = lookup.get(path)
    if arr is not None:
        return fit_size(arr, max_side), None
    if not os.path.isfile(path):
        return None, "image not available (load the run's dataset to see array images)"
    try:
        return load_image(path, max_side), None
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the gallery
        return None, getattr(exc, "reason", None) or "cannot be decoded"


class ThumbnailWorker(PoolWorker):
    """Decode a list of gallery images; emits ``thumbs(job_id, [(i, array|None, reason|None)])``."""

    thumbs = Signal(int, list)  # job id, chunk

    def __init__(self, paths: list[str], max_side: int = 96, dataset=None):
        super().__init__()
        self.paths, self.max_side, self.dataset = list(paths), max_side, dataset

    def work(self) -> int:
        lookup = ArrayLookup(self.dataset)
        chunk = []
        for i, path in enumerate(self.paths):
            self.events.check_stop()
            arr, reason = image_for(path, self.max_side, lookup)
            chunk.append((i, arr, reason))
            if len(chunk) >= _CHUNK:
                self.emit_later("thumbs", self.job_id, chunk)
                chunk = []
        if chunk:
            self.emit_later("thumbs", self.job_id, chunk)
        return len(self.paths)


class PreviewWorker(PoolWorker):
    """Decode one image for the large view (and find faces when asked).

    Returns:
        ``{"path", "image": array | None, "error": str | None, "faces": list | None}``;
        faces are ``[x, y, w, h]`` as fractions of the image size.
    """

    def __init__(self, path: str, max_side: int = 640, dataset=None, detect_faces=False):
        super().__init__()
        self.path, self.max_side, self.dataset = path, max_side, dataset
        self.detect = detect_faces

    def work(self) -> dict:
        arr, reason = image_for(self.path, self.max_side, ArrayLookup(self.dataset))
        faces = None
        if arr is not None and self.detect:
            from training.inference.faces import detect_faces

            faces = detect_faces(arr)
        return {"path": self.path, "image": arr, "error": reason, "faces": faces}
