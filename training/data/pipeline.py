"""``tf.data`` input pipeline from decoded in-memory arrays.

TensorFlow is imported inside the function so ``training.data`` stays cheap to import.
Images stay uint8 (4x less memory than float32); the model rescales them itself, so a
saved model classifies raw images correctly.
"""
from __future__ import annotations

import numpy as np


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """A batched, prefetching ``tf.data.Dataset`` of ``(uint8 images, int32 labels)``.

    Args:
        x: uint8 ``(N, h, w, c)``.
        y: ``(N,)`` class indices (cast to int32).
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: reshuffle every epoch (a full-size buffer: the data is in memory anyway).
        seed: shuffle seed, for repeatable runs.

    Returns:
        ``tf.data.Dataset`` yielding ``(images, labels)`` batches.
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive. Received: batch_size={batch_size}")
    ds = tf.data.Dataset.from_tensor_slices((np.ascontiguousarray(x, np.uint8),
                                             np.asarray(y, np.int32)))
    if shuffle:
        ds = ds.shuffle(max(1, len(x)), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
