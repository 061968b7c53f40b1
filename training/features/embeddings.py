"""Penultimate features of a run's model: the one owner of "what the model sees".

The features are the input of the classification head (the last ``Dense`` layer,
named ``predictions`` by ``training.models.build``): a vector per image that the
calibration/"unknown" rule (distance to the training set) and the data-health checks
(near-duplicates) compare. Everything here is batched: images go through the model a
batch at a time, read from whatever array-like holds them (an in-memory array, a
memory map, a ``PreparedData.x``), so no whole-dataset tensor is ever built.

    from training.features.embeddings import Embedder
    emb = Embedder(Predictor(run_dir).model)     # or any Keras classifier
    f = emb.embed_batch(images_uint8)            # (n, dim) float32
    f = emb.embed_rows(x, rows)                  # rows of an array / memmap, batch by batch
    e = emb.embed_split(data, VALIDATION)        # one split of open_images(...) data:
    e.rows, e.features, e.probabilities, e.labels
    e = emb.embed_batches(data.batches(rows, 64), len(rows))   # any index rows
    feats, probs = emb.embed_batch(x, with_probabilities=True)
"""
from __future__ import annotations

import logging
from typing import NamedTuple

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
    from training.models.tta import MeanOfViews, has_flip_tta

    if has_flip_tta(model):
        # The head sees the image and its mirror (training.models.tta); its prediction is
        # the mean of the two, so the features are too: one row per image, and the kNN
        # and duplicate checks compare what the prediction was made from.
        features = MeanOfViews(name="features_mean_of_views")(features)
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

    def logits(self, features, probabilities=None) -> np.ndarray | None:
        """The head's logits (n, C) float64 from penultimate ``features`` (a binary sigmoid
        head gives ``[0, z]``), or None when the head is not a softmax/sigmoid Dense layer.

        With ``probabilities`` (the model's output for the same images), None is also
        returned when softmax(logits) does not reproduce them (a head this cannot read),
        and always for a flip-TTA model (then calibration fits on log-probabilities).
        """
        from training.models.tta import has_flip_tta

        if has_flip_tta(self.model):
            return None  # a mean of two softmaxes is no softmax of one set of logits
        head = head_layer(self.model)
        act = getattr(getattr(head, "activation", None), "__name__", "")
        weights = head.get_weights() if act in ("softmax", "sigmoid") else []
        if len(weights) != 2:
            return None
        kernel, bias = (np.asarray(w, dtype=np.float64) for w in weights)
        f = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        if kernel.ndim != 2 or f.shape[1] != kernel.shape[0]:
            return None
        z = f @ kernel + bias
        if act == "sigmoid":
            if z.shape[1] != 1:
                return None
            z = np.concatenate([np.zeros_like(z), z], axis=1)
        if probabilities is not None and len(z):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            if np.abs(e / e.sum(axis=1, keepdims=True) - np.asarray(probabilities)).max() > 1e-3:
                log.warning("The head's logits do not reproduce the model's probabilities; "
                            "calibrating on log-probabilities instead")
                return None
        return z

    def embed_batch(self, images, with_probabilities: bool = False):
        """Features (n, dim) float32 for uint8 images (n, h, w, c) already at input size.

        With ``with_probabilities``, returns ``(features, probabilities (n, C))``; a binary
        sigmoid head's output becomes ``[1-p, p]``.
        """
        from training.features.modelcall import to_probabilities

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

    def embed_batches(self, batches, total: int | None = None, events: Events | None = None,
                      what: str = "computing features") -> Embedded:
        """Features and probabilities of ``(images, labels, rows)`` batches, as the data API
        (``ImageData.batches`` / ``split_batches``) yields them, one batch in memory at a time."""
        events = events or Events()
        rows, labels, feats, probs = [], [], [], []
        done = 0
        for x, y, kept in batches:
            events.check_stop()
            if len(x):
                f, p = self.embed_batch(x, with_probabilities=True)
                feats.append(f)
                probs.append(p)
                rows.append(np.asarray(kept, dtype=np.int64))
                labels.append(np.asarray(y, dtype=np.int64))
            done += len(x)
            events.on_progress(done if total is None else min(done, total), total or done, what)
        if not feats:
            return Embedded(np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32),
                            np.zeros((0, 0), np.float32), np.zeros(0, np.int64))
        return Embedded(np.concatenate(rows), np.concatenate(feats), np.concatenate(probs),
                        np.concatenate(labels))

    def embed_split(self, data, split: int, events: Events | None = None,
                    limit: int | None = None, seed: int = 0) -> Embedded:
        """Features of one split of the data (an ``ImageData`` from
        ``training.data.open_images``, or a ``PreparedData``), batch by batch.

        Args:
            limit: at most this many images, a seeded random subsample kept in row order
                (bounds the work and the result for big splits).

        Returns:
            :class:`Embedded`: ``rows`` are index rows (files that failed to decode are
            left out), with their ``features``, ``probabilities`` and ``labels``.
        """
        from training.data.index import SPLIT_NAMES

        batches, total = split_batches(data, split, self.batch_size, limit, seed)
        return self.embed_batches(batches, total, events, f"computing features ({SPLIT_NAMES[split]})")


def split_batches(data, split: int, batch_size: int, limit: int | None = None, seed: int = 0):
    """``(iterator of (images, labels, index rows), count)`` over one split of ``data``.

    ``data`` is an ``ImageData`` (``training.data.open_images``) or a ``PreparedData``;
    ``limit`` keeps a seeded random subsample (in row order).
    """
    if hasattr(data, "split_rows") and hasattr(data, "batches"):
        rows = _subsample(np.asarray(data.split_rows(split), dtype=np.int64), limit, seed)
        return data.batches(rows, batch_size), len(rows)
    # PreparedData: positions into its arrays.
    pos = _subsample(np.flatnonzero(np.asarray(data.splits) == split), limit, seed)
    y, rows = np.asarray(data.y), np.asarray(data.rows)
    batches = ((np.asarray(data.x[pos[i:i + batch_size]]), y[pos[i:i + batch_size]],
                rows[pos[i:i + batch_size]]) for i in range(0, len(pos), batch_size))
    return batches, len(pos)


class Embedded(NamedTuple):
    """What :meth:`Embedder.embed_split` returns (index rows and what belongs to them)."""

    rows: np.ndarray
    features: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray


def _subsample(rows: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or len(rows) <= limit:
        return rows
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(rows, size=int(limit), replace=False))
