"""Penultimate features of a run's model: the one owner of "what the model sees".

The features are the input of the classification head (the last ``Dense`` layer,
named ``predictions`` by ``training.models.build``): a vector per image that the
calibration/"unknown" rule (distance to the training set) and the data-health checks
(near-duplicates) compare. Everything here is batched: images go through the model a
batch at a time, read from whatever array-like holds them (an in-memory array, a
memory map, a ``PreparedData.x``), so no whole-dataset tensor is ever built.

    from training.embeddings import Embedder
    emb = Embedder.from_run(run_dir)             # or Embedder(keras_model)
    f = emb.embed_batch(images_uint8)            # (n, dim) float32
    f = emb.embed_rows(data.x, rows)             # selected rows, batch by batch
    f = emb.embed_split(data, VALIDATION)        # one split of a PreparedData
    feats, probs = emb.embed_batch(x, with_probabilities=True)
"""
from __future__ import annotations

import logging

import numpy as np

from training.events import Events

log = logging.getLogger(__name__)

HEAD_LAYER = "predictions"


def head_layer(model):
    """The classification head: the layer named ``predictions``, else the last layer."""
    try:
        return model.get_layer(HEAD_LAYER)
    except ValueError:
        return model.layers[-1]


def penultimate_model(model, with_outputs: bool = False):
    """A Keras model from ``model``'s input to the head's input (optionally also its output).

    Args:
        model: a functional Keras classifier (as built by ``training.models``).
        with_outputs: return ``[features, model output]`` from one forward pass.

    Raises:
        ValueError: the model has no layer before its head to take features from.
    """
    import keras

    head = head_layer(model)
    try:
        features = head.input
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"Cannot take penultimate features from the model {model.name!r}: "
                         f"its head layer {head.name!r} has no single input ({exc}).") from None
    if isinstance(features, (list, tuple)):
        raise ValueError(  # a model we cannot use, not a wrong argument type
            f"Cannot take penultimate features from the model {model.name!r}: "
            f"its head layer {head.name!r} has {len(features)} inputs.")
    outputs = [features, model.output] if with_outputs else features
    return keras.Model(model.inputs, outputs, name=f"{model.name}_features")


class Embedder:
    """Batched penultimate features (and, in the same pass, probabilities) of a model.

    Args:
        model: the trained Keras classifier (its input takes 0..255 floats).
        batch_size: images per forward pass.
    """

    def __init__(self, model, batch_size: int = 64):
        import tensorflow as tf

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1. Received: batch_size={batch_size}")
        self.model = model
        self.batch_size = int(batch_size)
        self._both = penultimate_model(model, with_outputs=True)
        self.dim = int(np.prod(self._both.outputs[0].shape[1:]))
        _, h, w, c = model.input_shape
        self.input_size = (int(h), int(w))
        self.color_mode = "grayscale" if c == 1 else "rgb"
        shape = [None, *model.input_shape[1:]]
        both = self._both

        # A traced direct call: model.predict's per-call setup costs ~100 ms per call.
        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)], reduce_retracing=True)
        def call(x):
            feats, out = both(x, training=False)
            return tf.reshape(feats, [tf.shape(feats)[0], -1]), out

        self._call = call

    @classmethod
    def from_run(cls, run_dir, which: str = "best", batch_size: int = 64) -> Embedder:
        """The embedder of a run folder's model (loaded in Keras safe mode)."""
        from training.predict import Predictor

        return cls(Predictor(run_dir, which=which).model, batch_size=batch_size)

    def embed_batch(self, images, with_probabilities: bool = False):
        """Features (n, dim) float32 for uint8 images (n, h, w, c) already at input size.

        With ``with_probabilities``, returns ``(features, probabilities (n, C))``; a binary
        sigmoid head's output becomes ``[1-p, p]``.
        """
        from training.predict import to_probabilities

        x = np.asarray(images)
        if x.ndim != 4 or tuple(x.shape[1:3]) != self.input_size:
            raise ValueError(f"embed_batch expects images of shape (n, {self.input_size[0]}, "
                             f"{self.input_size[1]}, c). Received: shape={x.shape}")
        feats_parts, prob_parts = [], []
        for start in range(0, len(x), self.batch_size):
            f, p = self._call(np.asarray(x[start:start + self.batch_size], dtype=np.float32))
            feats_parts.append(f.numpy().astype(np.float32, copy=False))
            prob_parts.append(to_probabilities(p.numpy()))
        feats = (np.concatenate(feats_parts) if feats_parts
                 else np.zeros((0, self.dim), dtype=np.float32))
        if not with_probabilities:
            return feats
        probs = np.concatenate(prob_parts) if prob_parts else np.zeros((0, 0), dtype=np.float32)
        return feats, probs

    def embed_rows(self, x, rows=None, events: Events | None = None,
                   what: str = "computing features", with_probabilities: bool = False):
        """Features of ``x[rows]`` (all rows by default), read and run one batch at a time.

        Args:
            x: any array-like of uint8 images (n, h, w, c): an array or a memory map.
            rows: indices into ``x`` (None: every row).
            events: progress (``on_progress``) and stop requests (checked between batches).

        Raises:
            Stopped: a stop was requested.
        """
        events = events or Events()
        rows = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
        n = len(rows)
        feats = np.empty((n, self.dim), dtype=np.float32)
        probs = None
        for start in range(0, n, self.batch_size):
            events.check_stop()
            sel = rows[start:start + self.batch_size]
            f, p = self.embed_batch(x[sel], with_probabilities=True)
            feats[start:start + len(sel)] = f
            if with_probabilities:
                if probs is None:
                    probs = np.empty((n, p.shape[1]), dtype=np.float32)
                probs[start:start + len(sel)] = p
            events.on_progress(min(start + self.batch_size, n), n, what)
        if with_probabilities:
            return feats, (probs if probs is not None else np.zeros((0, 0), dtype=np.float32))
        return feats

    def embed_split(self, data, split: int, events: Events | None = None,
                    with_probabilities: bool = False, limit: int | None = None, seed: int = 0):
        """Features of one split of a ``PreparedData`` (``TRAIN``/``VALIDATION``/``TEST``).

        Args:
            limit: at most this many rows, a seeded random subsample kept in row order
                (bounds the work and the result for big splits).

        Returns:
            ``(rows, features)`` or ``(rows, features, probabilities)``: ``rows`` are the
            positions in ``data`` the features belong to.
        """
        from training.data.index import SPLIT_NAMES

        rows = np.flatnonzero(np.asarray(data.splits) == split)
        if limit is not None and len(rows) > limit:
            rng = np.random.default_rng(seed)
            rows = np.sort(rng.choice(rows, size=int(limit), replace=False))
        out = self.embed_rows(data.x, rows, events=events, with_probabilities=with_probabilities,
                              what=f"computing features ({SPLIT_NAMES[split]})")
        if with_probabilities:
            return (rows, *out)
        return rows, out
