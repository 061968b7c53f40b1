"""Augmentation preview: a few training images, each augmented several times with the
spec's own :class:`~training.models.augment.Augmentation` layer (what training applies).

Needs TensorFlow, so it runs in a worker and imports it through ``tfload``'s lock.
"""
from __future__ import annotations

import logging

import numpy as np

from workbench.workers.base import Worker
from workbench.workers.gallery_images import ArrayLookup

log = logging.getLogger(__name__)


def preview_rows(index, count: int) -> list:
    """Up to ``count`` training-split rows spread over the classes (one per class first)."""
    from training.data.index import TRAIN

    labels, splits = np.asarray(index.labels), np.asarray(index.splits)
    rows = []
    for c in range(len(index.classes)):
        hits = np.flatnonzero((labels == c) & (splits == TRAIN))
        if len(hits):
            rows.append(int(hits[0]))
        if len(rows) >= count:
            break
    return rows


class AugPreviewWorker(Worker):
    """``finished`` carries ``{"originals": [uint8 HxWxC], "variants": [[uint8 ...]],
    "paths": [...], "errors": [...]}`` (one list of variants per original)."""

    def __init__(self, index, augmentation: dict, input_size, color_mode: str,
                 images: int = 3, variants: int = 4, seed: int = 0):
        super().__init__()
        self.index, self.aug = index, dict(augmentation)
        self.size, self.color_mode = tuple(int(v) for v in input_size), color_mode
        self.images, self.variants, self.seed = images, variants, seed

    def _originals(self):
        from training.data import decode_image

        lookup = ArrayLookup(self.index)
        out, paths, errors = [], [], []
        for row in preview_rows(self.index, self.images):
            path = self.index.paths[row]
            try:
                arr = lookup.get(path)
                arr = (decode_image(path, self.size, self.color_mode) if arr is None else
                       _fit(arr, self.size, self.color_mode))
            except Exception as exc:  # noqa: BLE001 - a bad file only drops that image
                errors.append(f"{path}: {exc}")
                continue
            out.append(arr)
            paths.append(path)
        return out, paths, errors

    def work(self) -> dict:
        from workbench.workers.tfload import ensure_tensorflow

        originals, paths, errors = self._originals()
        if not originals:
            return {"originals": [], "variants": [], "paths": [], "errors": errors}
        ensure_tensorflow()
        import keras

        from training.models.augment import Augmentation

        self.events.check_stop()
        layer = Augmentation(**self.aug)
        keras.utils.set_random_seed(self.seed)
        batch = np.stack(originals).astype("float32")
        variants = [[] for _ in originals]
        for _ in range(self.variants):
            self.events.check_stop()
            out = keras.ops.convert_to_numpy(layer(batch, training=True))
            for i, img in enumerate(np.clip(out, 0, 255).round().astype(np.uint8)):
                variants[i].append(img)
        return {"originals": originals, "variants": variants, "paths": paths, "errors": errors}


def _fit(arr, size, color_mode):
    from training.data.decode import resize_array_images

    a = arr if arr.ndim == 3 else arr[:, :, None]
    return resize_array_images(a[None], size, color_mode)[0]
