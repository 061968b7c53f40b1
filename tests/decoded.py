"""``load_arrays``: every sample of a (small, test) index as one uint8 array.

A test helper, not part of the core: training, evaluation, prediction, data health and
export read batches through :func:`training.data.open_images` and never hold a dataset
in memory. This fills the same on-disk store and answers with its memory map when every
file decoded, else copies the good rows into RAM, so tests can compare whole datasets.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from training.data.images import ImageData
from training.data.index import BadFile, DatasetIndex


@dataclass
class PreparedData:
    """Decoded samples.

    Attributes:
        x: uint8 ``(N, h, w, c)`` (possibly a read-only memory map).
        y: int32 ``(N,)`` class indices.
        splits: uint8 ``(N,)`` ``TRAIN``/``VALIDATION``/``TEST``.
        rows: int64 ``(N,)`` row numbers into the index (files that failed are missing).
        classes: class names.
        cache_hit: True when the pixels came from the on-disk store.
        decoded: number of files decoded by this call (0 on a cache hit).
        failures: the :class:`BadFile` entries this call added to ``index.bad_files``.
    """

    x: np.ndarray
    y: np.ndarray
    splits: np.ndarray
    rows: np.ndarray
    classes: list[str]
    cache_hit: bool = False
    decoded: int = 0
    failures: list[BadFile] = field(default_factory=list)

    def subset(self, split: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of one split."""
        keep = self.splits == split
        return self.x[keep], self.y[keep]

    def split_batches(self, split: int, batch_size: int):
        """Yield ``(images, labels, index rows)`` of one split (as ``ImageData`` does)."""
        sel = np.flatnonzero(self.splits == split)
        for s in range(0, len(sel), max(1, int(batch_size))):
            part = sel[s:s + batch_size]
            yield np.asarray(self.x[part]), self.y[part], self.rows[part]


def load_arrays(index: DatasetIndex, size, color_mode: str = "rgb", events=None, *,
                use_cache: bool = True) -> PreparedData:
    """Decode every sample of ``index`` once, at ``size`` and ``color_mode``.

    Args:
        index: from :func:`open_dataset`.
        size: ``(height, width)`` or an int.
        color_mode: ``"rgb"`` or ``"grayscale"``.
        events: optional :class:`training.events.Events`: ``on_progress(done, total,
            "Decoding images")`` per chunk, ``check_stop()`` between chunks (raises
            :class:`training.events.Stopped`; what was decoded stays in the store and the
            next call continues from there).
        use_cache: read and write the on-disk store (see :mod:`training.data.cache`).

    Returns:
        :class:`PreparedData`. Files that fail to decode are added to
        ``index.bad_files`` (once, however often this is called) and left out.
    """
    data = ImageData(index, size, color_mode, events, use_cache)
    try:
        if data.mode == "arrays":
            x, rows = data.read(data.rows)
        else:
            data.fill(events)
            rows = np.asarray([r for r in data.rows if int(r) not in data._bad], np.int64)
            st = data.store
            if st is not None and st.complete and len(rows) == len(index) \
                    and not _repair(data, st.damaged_rows()):
                x = st._images  # the whole store, memory-mapped: no copy
            else:
                x = np.empty((len(rows),) + data.shape, np.uint8)
                for s in range(0, len(rows), 1024):
                    part, _kept = data.read(rows[s:s + 1024])
                    x[s:s + len(part)] = part
        return PreparedData(x, np.asarray(index.labels)[rows].astype(np.int32),
                            np.asarray(index.splits)[rows].astype(np.uint8), rows, list(index.classes),
                            cache_hit=data.cache_hit, decoded=data.decoded, failures=list(data.failures))
    finally:
        data.close()  # a memory map stays valid after its file is closed


def _repair(data: ImageData, damaged: np.ndarray) -> bool:
    """Decode damaged records again (rewritten in the store when possible); True if any."""
    if len(damaged):
        data.read(damaged)
    return bool(len(damaged))
