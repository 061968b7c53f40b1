"""Calling a Keras classifier: a traced direct call, and its outputs as probabilities.

Shared by prediction, evaluation, features (``training.features.embeddings``) and calibration
(``training.trust.rule``); it lives apart from ``training.inference.predict`` so those modules don't
import the Predictor (which uses them).
"""
from __future__ import annotations

import numpy as np

MIN_BATCH = 64  # the smallest batch, as the separate post-fit passes had
# The largest batch: its float32 input at most MAX_BATCH_BYTES. Each model call costs ~2 ms
# of Python and TensorFlow overhead whatever its size: the 28x28 benchmark's post-fit pass
# over 11,000 images took 0.55-0.7 CPU-s at batch 64 and 0.17 at 1,024 (issue 21), with
# the same outputs.
MAX_BATCH_BYTES = 4 * 2**20
MAX_BATCH = 1024
# Calls per pass at least (where there are 64 images a call to give): progress moves and a
# stop is seen between calls, as in an epoch (training.fit.execution).
MIN_CALLS = 8


def inference_batch(images: int, input_shape) -> int:
    """Images per model call in an inference pass over ``images`` images of ``input_shape``
    (h, w, c): up to 1,024 for small inputs, where per-call overhead dominates, 64 for big
    ones (their activations, not the overhead, set the cost), and small enough that the
    pass still takes ``MIN_CALLS`` calls."""
    per_image = 4 * max(1, int(np.prod([int(d) for d in input_shape])))
    cap = min(MAX_BATCH, MAX_BATCH_BYTES // per_image)
    return int(max(MIN_BATCH, min(cap, -(-int(images) // MIN_CALLS))))


def to_probabilities(out: np.ndarray) -> np.ndarray:
    """Model outputs as (N, C) probabilities: a binary sigmoid head becomes ``[1-p, p]``."""
    out = np.asarray(out, dtype=np.float32)
    if out.ndim == 1:
        out = out[:, None]
    if out.shape[-1] == 1:
        p = out[:, 0]
        return np.stack([1.0 - p, p], axis=1)
    return out


def compiled_call(model):
    """A traced ``model(x, training=False)`` for float32 batches of any length.

    A direct compiled call avoids ``model.predict``'s per-call setup (measured in the
    issue: 27 ms vs 132 ms per image for MobileNetV2 on 2 cores).
    """
    import tensorflow as tf

    shape = [None, *model.input_shape[1:]]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)], reduce_retracing=True)
    def call(x):
        return model(x, training=False)

    return call
