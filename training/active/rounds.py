"""One active-learning round: train the fast model on the labels so far, estimate its
accuracy on the held-back ones, predict the unlabelled pool and rank it.

The round reads images through ``read(rows) -> (uint8 images, rows kept)`` (an
``ImageData.read`` from ``training.data.open_images``, or :func:`array_reader`), a batch
at a time: only the training labels' images are held in memory, the pool streams.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from training.active.heldback import (HOLDOUT_SALT, HOLDOUT_SHARE, MIN_PER_CLASS, held_back_mask, labels_needed,
                                     needed_message)
from training.active.queue import CHECK_EVERY, build_queue
from training.active.strategies import (DEFAULT_MEASURE, DEFAULT_PREFILTER, DEFAULT_SPACING,
                                        DEFAULT_STRATEGY, DEFAULT_WEIGHTED)
from training.data import DatasetError
from training.events import Events

POOL_BATCH = 256


class NotReady(DatasetError):
    """Some class has too few labels for a round (the message says how many more); a
    ``DatasetError``, so the CLI and the service report it as the person's input."""


@dataclass
class RoundResult:
    """What a round found. ``positions`` are dataset rows of the pool, best first."""

    positions: np.ndarray
    suggested: np.ndarray          # class index the model predicts, per position
    confidence: np.ndarray         # its probability
    scores: np.ndarray             # the strategy's score (higher: label sooner)
    labels: int                    # labels given (training + held back)
    trained_on: int
    held_back: int
    accuracy: float | None         # on the held-back labels (None without any)
    pool: int                      # unlabelled images ranked
    seconds: dict = field(default_factory=dict)
    pool_probabilities: np.ndarray | None = None   # (pool, C), in pool-row order (benchmarks)
    ranking_probabilities: np.ndarray | None = None   # what the ranking used (mean with the snapshots)
    pool_rows: np.ndarray | None = None
    backbone_cache: object = None  # the BackboneFeatures used, to pass to the next round
    model: object = None           # the round's RoundModel (benchmarks score a test set with it)
    checks: np.ndarray | None = None   # per position: a random check, its label to be held back
    flips: bool = False            # the model trained with horizontal flips
    mirror: object = None          # the mirror check that decided it (training.recipe.flips.MirrorCheck)


    def items(self, keys, classes) -> list[dict]:
        """The ranked queue as plain data: ``{path, suggested, score, confidence, held_back}``
        (``held_back``: a random check, its label will estimate accuracy)."""
        checks = self.checks if self.checks is not None else np.zeros(len(self.positions), bool)
        return [{"path": str(keys[int(r)]), "suggested": classes[int(s)], "score": round(float(sc), 6),
                 "confidence": round(float(c), 6), "held_back": bool(h)}
                for r, s, sc, c, h in zip(self.positions, self.suggested, self.scores, self.confidence, checks)]

    def point(self) -> dict:
        """The estimated-accuracy curve's point of this round."""
        return {"labels": self.labels, "trained_on": self.trained_on, "held_back": self.held_back,
                "accuracy": self.accuracy}


def array_reader(x):
    """``read(rows)`` over an array (or memory map) of uint8 images."""
    def read(rows):
        rows = np.asarray(rows, np.int64)
        return np.asarray(x[rows]), rows
    return read


def check_ready(labels, classes, min_per_class: int = MIN_PER_CLASS) -> None:
    """Raise :class:`NotReady` when there are fewer than two classes or some class has fewer
    than ``min_per_class`` labels."""
    if len(classes) < 2:
        raise NotReady(f"Make at least two classes and label {min_per_class} images of each: the "
                       f"model then suggests what to label next. Received: {len(classes)} class(es)")
    y = np.asarray(labels, np.int64)
    counts = np.bincount(y[y >= 0], minlength=len(classes))
    needed = labels_needed({c: int(n) for c, n in zip(classes, counts)}, min_per_class)
    if needed:
        raise NotReady(needed_message(needed, min_per_class))


def run_round(read, labels, keys, classes, spec, strategy: str = DEFAULT_STRATEGY, count: int = 100,
              seed: int = 0, share: float = HOLDOUT_SHARE, events: Events | None = None,
              measure: str = DEFAULT_MEASURE, prefilter: int = DEFAULT_PREFILTER,
              backbone_cache=None, min_per_class: int = MIN_PER_CLASS,
              weighted: bool = DEFAULT_WEIGHTED, batch: int | None = None,
              spacing: float = DEFAULT_SPACING, salt: int = HOLDOUT_SALT,
              every: int = CHECK_EVERY) -> RoundResult:
    """Train, estimate, predict the pool and rank it.

    Args:
        read: ``read(rows) -> (images, rows kept)`` at ``spec``'s input size and colour.
        labels: class index per dataset row, -1 for an unlabelled one (the pool).
        keys: a stable name per row (its path): decides which labels are held back, and which
            pool images the queue shows as random checks (``training.active.queue``).
        classes: class names.
        spec: the model spec (``training.active.fastmodel.fast_spec``).
        count: how many pool images to rank (the queue's length).
        batch: labels given before the next round (``badge``/``diverse`` spread these; default ``count``).
        backbone_cache: a ``BackboneFeatures`` kept between rounds (frozen-backbone specs).
        salt: the held-back hash's salt (``training.active.heldback``).
        every: one random check in this many queue places (``training.active.queue``).

    Raises:
        NotReady: a class has too few labels.
        Stopped: a stop was requested.
    """
    from training.active.fastmodel import BackboneFeatures, train_fast, with_flips
    from training.models import can_precompute_features

    events = events or Events()
    y = np.asarray(labels, np.int64)
    check_ready(y, classes, min_per_class)
    labelled, pool = np.flatnonzero(y >= 0), np.flatnonzero(y < 0)
    held = held_back_mask([keys[int(r)] for r in labelled], y[labelled], share, salt)
    train_rows, held_rows = labelled[~held], labelled[held]
    t0 = time.perf_counter()
    backbone = can_precompute_features(spec)
    events.on_status(f"Training the suggestion model on {len(train_rows)} labels…")
    if backbone:
        from training.models import build_parts

        if backbone_cache is None:
            backbone_cache = BackboneFeatures(build_parts(spec, len(classes)).features, len(y))
        x, kept = backbone_cache.get(read, train_rows, events, "computing features of the labelled images")
        mirror = None
    else:
        x, kept = _read_all(read, train_rows)
        spec, mirror = with_flips(spec, x, y[kept])
    parts, _, snapshots = train_fast(spec, x, y[kept], len(classes), seed, events, features_only=backbone)
    model = RoundModel(parts, len(classes), backbone_cache if backbone else None, snapshots)
    t_train = time.perf_counter() - t0

    t1 = time.perf_counter()
    accuracy = None
    if len(held_rows):
        _, p_held, ok = model.predict(read, held_rows, events, "checking the held-back labels")
        if len(ok):
            accuracy = float(np.mean(p_held.argmax(axis=1) == y[ok]))
    events.on_status(f"Ranking {len(pool):,} unlabelled images…")
    # The ranking sees the snapshots' mean; the guesses shown (and the estimate) are the final weights'.
    feats, probs, mean, pool_ok = model.predict_for_ranking(read, pool, events, "ranking the unlabelled images")
    order, scores, checks = build_queue(strategy, mean, feats, [keys[int(r)] for r in pool_ok], count, seed,
                                        batch, share, salt, every, measure=measure, prefilter=prefilter,
                                        weighted=weighted, spacing=spacing)
    t_rank = time.perf_counter() - t1
    return RoundResult(
        positions=pool_ok[order], suggested=probs[order].argmax(axis=1) if len(order) else np.zeros(0, np.int64),
        confidence=probs[order].max(axis=1) if len(order) else np.zeros(0), scores=scores,
        labels=len(labelled), trained_on=len(kept), held_back=len(held_rows), accuracy=accuracy,
        pool=len(pool_ok), seconds={"train": t_train, "rank": t_rank},
        pool_probabilities=probs, ranking_probabilities=mean, pool_rows=pool_ok, backbone_cache=backbone_cache,
        model=model, checks=checks, flips=spec.augmentation.flip != "none", mirror=mirror)


class RoundModel:
    """A round's trained model: features and probabilities of any rows, batch by batch.

    ``snapshots``: the fitted model's weights earlier in its schedule
    (``fastmodel.RANKING_SNAPSHOTS``): :meth:`predict_for_ranking` averages their
    probabilities with the final weights'; everything else is the final weights'."""

    def __init__(self, parts, num_classes: int, backbone_cache=None, snapshots=()):
        from training.features.embeddings import Embedder

        self.parts, self.num_classes, self.backbone_cache = parts, num_classes, backbone_cache
        self.snapshots = list(snapshots)
        self._emb = None if backbone_cache is not None else Embedder(parts.model, batch_size=POOL_BATCH)
        # The Keras model whose weights the snapshots are (the head over cached features).
        self._fitted = parts.head if backbone_cache is not None else parts.model

    def predict(self, read, rows, events: Events | None = None, what: str = "predicting"):
        """``(features, probabilities, rows kept)`` of ``rows`` read through ``read`` (the final
        weights')."""
        f, p, _, ok = self._predict(read, rows, events, what, [])
        return f, p, ok

    def predict_for_ranking(self, read, rows, events: Events | None = None, what: str = "predicting"):
        """``(features, probabilities, mean probabilities, rows kept)``: the final weights'
        features and probabilities, and the mean of the probabilities over the final weights
        and the snapshots (what the ranking uses)."""
        return self._predict(read, rows, events, what, self.snapshots)

    def _predict(self, read, rows, events, what, views):
        from training.active.fastmodel import head_outputs

        events = events or Events()
        rows = np.asarray(rows, np.int64)
        # The final weights, read once: each batch's snapshot views put them back after.
        final_weights = self._fitted.get_weights() if views else None
        if self.backbone_cache is not None:
            f, ok = self.backbone_cache.get(read, rows, events, what)
            p = head_outputs(self.parts.head, f)
            return f, p, self._averaged(lambda: head_outputs(self.parts.head, f), views, p, final_weights), ok
        feats, probs, means, oks = [], [], [], []
        for start in range(0, len(rows), POOL_BATCH):
            events.check_stop()
            xb, ok = read(rows[start:start + POOL_BATCH])
            if len(ok):
                f, p = self._emb.embed_batch(xb, with_probabilities=True)
                feats.append(f)
                probs.append(p)
                means.append(self._averaged(lambda xb=xb: self._emb.embed_batch(xb, with_probabilities=True)[1],
                                            views, p, final_weights))
                oks.append(np.asarray(ok, np.int64))
            events.on_progress(min(start + POOL_BATCH, len(rows)), len(rows), what)
        if not oks:
            empty = np.zeros((0, self.num_classes), np.float32)
            return np.zeros((0, self._emb.dim), np.float32), empty, empty, np.zeros(0, np.int64)
        return np.concatenate(feats), np.concatenate(probs), np.concatenate(means), np.concatenate(oks)

    def _averaged(self, probabilities, views, plain, final_weights) -> np.ndarray:
        """The mean of ``plain`` (``probabilities()`` under the final weights) and
        ``probabilities()`` under each weight list of ``views``; ``final_weights`` are
        restored after."""
        if not views:
            return plain
        total = np.asarray(plain, np.float64)
        try:
            for weights in views:
                self._fitted.set_weights(weights)
                total = total + probabilities()
        finally:
            self._fitted.set_weights(final_weights)
        return (total / (1 + len(views))).astype(np.float32)


def _read_all(read, rows) -> tuple[np.ndarray, np.ndarray]:
    xs, oks = [], []
    for start in range(0, len(rows), POOL_BATCH):
        x, ok = read(rows[start:start + POOL_BATCH])
        if len(ok):
            xs.append(np.asarray(x))
            oks.append(np.asarray(ok, np.int64))
    if not xs:
        raise ValueError("None of the labelled images could be read.")
    return np.concatenate(xs), np.concatenate(oks)
