"""Frozen-backbone speed-up (the seed's "bottleneck features").

With a frozen backbone and no augmentation, the backbone's output for an image never
changes during the head phase, so it is computed once per image and the (small) head is
trained on those features. The head's layers are shared with the end-to-end model, so
saving that model gives one file that classifies raw images exactly like the head did.
"""
from __future__ import annotations

import numpy as np

from training.events import Events
from training.models import ModelParts, build_model, build_parts, can_precompute_features


def build_split_model(spec, num_classes: int, use_cache: bool) -> tuple[object, ModelParts | None]:
    """Build the model and, when the speed-up applies, its feature/head split.

    Returns:
        ``(model, parts)``; ``parts`` is None when training runs end to end.
    """
    if not (use_cache and can_precompute_features(spec)):
        return build_model(spec, num_classes), None
    parts = build_parts(spec, num_classes)
    return parts.model, (parts if parts.features is not None else None)


class FeatureStore:
    """Memory-mapped files for one run's backbone features (``np.lib.format.open_memmap``
    under ``<cache>/features/``), so a big dataset's features never sit in RAM; the files
    are deleted on ``close()`` (they depend on the run's backbone and are never reused)."""

    def __init__(self, folder: str | None = None):
        import os
        import tempfile

        from training.data.cache import cache_dir

        base = folder or os.path.join(cache_dir(), "features")
        os.makedirs(base, exist_ok=True)
        self.folder = tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base)
        self._arrays: list = []

    def create(self, name: str, shape, dtype=np.float32) -> np.ndarray:
        import os

        arr = np.lib.format.open_memmap(os.path.join(self.folder, f"{name}.npy"), mode="w+",
                                        dtype=dtype, shape=tuple(int(v) for v in shape))
        self._arrays.append(arr)
        return arr

    def close(self) -> None:
        import shutil

        for arr in self._arrays:
            mm = getattr(arr, "_mmap", None)
            if mm is not None:
                try:
                    arr.flush()
                except (ValueError, OSError):
                    pass
        self._arrays.clear()
        shutil.rmtree(self.folder, ignore_errors=True)  # open maps stay valid until released

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _feature_call(features_model):
    import tensorflow as tf

    shape = [None, *features_model.input_shape[1:]]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)], reduce_retracing=True)
    def call(x):
        return features_model(x, training=False)

    return call


def compute_features_from(features_model, data, rows, store: FeatureStore, name: str,
                          batch_size: int = 64, events: Events | None = None,
                          what: str = "computing features") -> tuple[np.ndarray, np.ndarray]:
    """Run the frozen backbone once over index ``rows`` of an ``ImageData`` (read in
    batches) into a memory-mapped array of ``store``.

    Returns:
        ``(features, labels)`` of the rows that decoded (bad files are left out).

    Raises:
        Stopped: a stop was requested between batches.
    """
    events = events or Events()
    call = _feature_call(features_model)
    n = len(rows)
    out = store.create(name, (n, *features_model.output_shape[1:]))
    labels = np.zeros(n, np.int32)
    filled = 0
    for x, y, _kept in data.batches(rows, batch_size):
        events.check_stop()
        if len(x):
            batch = call(np.asarray(x, dtype=np.float32)).numpy()
            out[filled:filled + len(batch)] = batch
            labels[filled:filled + len(batch)] = y
            filled += len(batch)
        events.on_progress(min(filled, n), n, what)
    return out[:filled], labels[:filled]


def compute_features(features_model, x_uint8, batch_size: int = 64,
                     events: Events | None = None, what: str = "computing features") -> np.ndarray:
    """Run the frozen backbone over an in-memory array (small inputs; training uses
    :func:`compute_features_from`).

    Raises:
        Stopped: a stop was requested between batches.
    """
    events = events or Events()
    call = _feature_call(features_model)
    n = len(x_uint8)
    out = None
    for start in range(0, n, batch_size):
        events.check_stop()
        batch = call(np.asarray(x_uint8[start:start + batch_size], dtype=np.float32)).numpy()
        if out is None:
            out = np.empty((n, *batch.shape[1:]), dtype=np.float32)
        out[start:start + len(batch)] = batch
        events.on_progress(min(start + batch_size, n), n, what)
    if out is None:
        out = np.zeros((0, *features_model.output_shape[1:]), dtype=np.float32)
    return out


def feature_dataset(features: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """``tf.data`` over precomputed (memory-mapped) features, gathered batch by batch
    (reshuffled every epoch, seeded)."""
    from training.data.pipeline import make_dataset

    return make_dataset(features, y, batch_size, shuffle, seed)
