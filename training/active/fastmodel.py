"""The model an active-learning round trains: small and quick, retrained every round.

Two kinds, from the project's own templates and builder (``training.models``):

* a head on a frozen MobileNetV2's features, when its ImageNet weights are on disk (the
  backbone's features of an image never change, so they are computed once per image and
  kept by :class:`BackboneFeatures` across rounds);
* otherwise a small CNN trained from scratch on the images themselves.

Training reuses the training loop's pieces (``training.fit.session``'s optimizer and
loss, ``training.fit.callbacks``' progress/stop callback, ``training.data.pipeline``'s
seeded batches) without a run folder: the model lives only for its round.
"""
from __future__ import annotations

import math

import numpy as np

from training.events import Events

FAST_CNN = {"blocks": 2, "filters": 16, "dense_units": 64, "dropout": 0.25}
CNN_MAX_SIDE = 64          # the small CNN sees at most 64x64 (speed; enough to rank)
BACKBONE = "mobilenet_v2"
BACKBONE_SIZE = (96, 96)
BATCH = 32
# Gradient steps per round, whatever the label count: few labels get more epochs (so a
# round with 50 labels still converges), many labels fewer (so a round stays quick).
TARGET_STEPS = 450
MIN_EPOCHS, MAX_EPOCHS = 6, 60
LEARNING_RATE = 2e-3
LABEL_SMOOTHING = 0.0
# Random changes to the small CNN's training images ({} = none; AugmentationSpec's fields).
AUGMENTATION: dict = {}
# Horizontal flips for the small CNN when the round's labelled images say a mirror image
# keeps its class (training.recipe.flips' check: not for digits or letters; undecided, so
# none, under MIN_IMAGES labels). On the tuning pool the flips and the 1-in-10 checks took
# BADGE from 547 to 459 labels to random's 1,000-label accuracy (docs/BENCHMARKS.md,
# "Active learning", fourth pass).
FLIPS_WHEN_MIRROR_SAFE = True
# Points of a round's schedule (fractions of its steps) where the weights are kept: the
# ranking averages the probabilities of these snapshots and of the final weights (a
# checkpoint ensemble: a second opinion on what is uncertain, for no extra training; one
# more pass over the pool). The held-back estimate and the model's accuracy stay the final
# weights'. On the tuning pool's ten fresh seeds, 2/3 of the way took BADGE from 544 to 499
# labels to random's 1,000-label accuracy (+0.003 at 500 labels, paired; docs/BENCHMARKS.md,
# "Active learning", eighth pass): smaller than the seed spread, ahead on 8 seeds of 10.
RANKING_SNAPSHOTS: tuple[float, ...] = (0.667,)


def fast_spec(input_size, color_mode: str):
    """The :class:`ModelSpec` of a round's model for images of ``input_size``/``color_mode``
    (the frozen-backbone head where its weights are cached, else the small CNN)."""
    from training.models import template
    from training.models.backbones import find_cached_weights

    if find_cached_weights(BACKBONE, BACKBONE_SIZE):
        return template(BACKBONE, BACKBONE_SIZE, "rgb", weights="imagenet", dropout=0.0)
    h, w = (int(v) for v in input_size)
    scale = min(1.0, CNN_MAX_SIDE / max(h, w))
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    spec = template("cnn", size, color_mode, **FAST_CNN)
    if AUGMENTATION:
        import dataclasses

        from training.models.spec import AugmentationSpec

        spec = dataclasses.replace(spec, augmentation=AugmentationSpec(**AUGMENTATION))
    return spec


def with_flips(spec, x, y):
    """``(spec, check)``: ``spec`` with horizontal flips when the images ``x`` (uint8, the
    round's training labels ``y``) are mirror-safe (``check``: the
    :class:`~training.recipe.flips.MirrorCheck`, None when not asked: flips set already
    or switched off)."""
    import dataclasses

    from training.data.decode import resize_array_images
    from training.recipe.flips import THUMB, mirror_check_arrays

    if not FLIPS_WHEN_MIRROR_SAFE or spec.augmentation.flip != "none":
        return spec, None
    check = mirror_check_arrays(resize_array_images(np.asarray(x), THUMB, "grayscale")[..., 0], y)
    if not check.safe:
        return spec, check
    return dataclasses.replace(spec, augmentation=dataclasses.replace(spec.augmentation, flip="horizontal")), check


def epochs_for(n: int, batch: int = BATCH) -> int:
    """Epochs giving about ``TARGET_STEPS`` gradient steps on ``n`` labels."""
    steps = max(1, math.ceil(n / batch))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps))))


class BackboneFeatures:
    """A frozen backbone's features of a dataset's rows, each computed once (kept for
    the next rounds: (rows, dim) float16 in memory, 2.5 KB an image for MobileNetV2).

    Args:
        features_model: ``ModelParts.features`` of :func:`fast_spec`'s model.
        total: how many rows the dataset has.
    """

    def __init__(self, features_model, total: int):
        from training.features.modelcall import compiled_call

        self.dim = int(np.prod(features_model.output_shape[1:]))
        self._call = compiled_call(features_model)
        self.values = np.zeros((int(total), self.dim), np.float16)
        self.known = np.zeros(int(total), bool)

    def get(self, read, rows, events: Events, what: str = "computing features") -> tuple[np.ndarray, np.ndarray]:
        """Features of ``rows`` (computing the missing ones through ``read``); returns
        ``(features float32, rows kept)`` (rows of unreadable files are left out)."""
        rows = np.asarray(rows, np.int64)
        missing = rows[~self.known[rows]]
        for start in range(0, len(missing), 64):
            events.check_stop()
            x, kept = read(missing[start:start + 64])
            if len(kept):
                f = self._call(np.asarray(x, np.float32)).numpy()
                self.values[kept] = f.reshape(len(kept), -1)
                self.known[kept] = True
            events.on_progress(min(start + 64, len(missing)), len(missing), what)
        ok = rows[self.known[rows]]
        return self.values[ok].astype(np.float32), ok


def train_fast(spec, x, y, num_classes: int, seed: int = 0, events: Events | None = None,
               features_only: bool = False):
    """Train a round's model on ``x`` (uint8 images, or backbone features when
    ``features_only``) with labels ``y``.

    Returns:
        ``(parts, trained, snapshots)``: the :class:`~training.models.ModelParts`, the Keras
        model that was fitted (``parts.head`` when ``features_only``, else ``parts.model``)
        and its weights at ``RANKING_SNAPSHOTS`` of the schedule (a list of weight lists).

    Raises:
        Stopped: a stop was requested.
    """
    import keras

    from training.data.pipeline import make_dataset
    from training.events import Stopped
    from training.fit.callbacks import EventsCallback, TrainState
    from training.fit.session import compile_model, make_optimizer
    from training.models import build_parts

    events = _TrainingProgress(events or Events())
    keras.utils.set_random_seed(int(seed))
    parts = build_parts(spec, num_classes)
    trained = parts.head if features_only else parts.model
    compile_model(trained, make_optimizer("adam", LEARNING_RATE), LABEL_SMOOTHING)
    # All epochs as one pass over a seeded sequence of per-epoch permutations: with a few
    # labels an epoch is one or two batches, and Keras' per-epoch set-up (an iterator,
    # callbacks) then cost more than the training itself (measured: 60 epochs of 19
    # images took 40-100 s on a busy 2-core machine).
    epochs = epochs_for(len(y))
    rng = np.random.default_rng(int(seed))
    order = np.concatenate([rng.permutation(len(y)) for _ in range(epochs)])
    y = np.asarray(y, np.int32)
    data = make_dataset(_Gathered(x, order), y[order], BATCH, shuffle=False)
    steps = math.ceil(len(order) / BATCH)
    state = TrainState()
    keep = _snapshot_keeper(steps, RANKING_SNAPSHOTS)
    trained.fit(data, epochs=1, verbose=0, shuffle=False,  # the order above is the shuffle
                callbacks=[EventsCallback(events, state, "train", 1, steps, early_stopping=False), keep])
    if state.stopped:
        raise Stopped()
    return parts, trained, keep.weights


def _snapshot_keeper(steps: int, fractions):
    """A Keras callback keeping the model's weights after step ``round(f x steps)`` for each
    fraction ``f`` in (0, 1) (reading weights changes neither the training nor its seed)."""
    import keras

    at = {max(1, round(float(f) * steps)) for f in fractions if 0 < float(f) < 1}

    class Keep(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.weights: list = []

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 in at:
                self.weights.append(self.model.get_weights())

    return Keep()


def head_outputs(head, features, batch: int = 512) -> np.ndarray:
    """Probabilities of a head model over precomputed features (batched)."""
    from training.features.modelcall import to_probabilities

    out = [to_probabilities(np.asarray(head(np.asarray(features[i:i + batch]), training=False)))
           for i in range(0, len(features), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


class _Gathered:
    """``x[order]`` without the copy: the rows a batch needs are gathered when it is read
    (``training.data.pipeline.make_dataset`` asks for ``len``, ``shape``, ``dtype`` and
    ``[positions]``)."""

    def __init__(self, x, order):
        self.x, self.order = np.asarray(x), np.asarray(order, np.int64)
        self.shape = (len(self.order), *self.x.shape[1:])
        self.dtype = self.x.dtype

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, pos):
        return self.x[self.order[pos]]


class _TrainingProgress(Events):
    """The fit's batches as generic progress (a service request forwards ``on_progress``,
    not training's ``on_batch``); stop requests pass through."""

    def __init__(self, outer: Events):
        self.outer = outer

    def should_stop(self) -> bool:
        return self.outer.should_stop()

    def on_status(self, message: str) -> None:
        self.outer.on_status(message)

    def on_batch(self, info: dict) -> None:
        epochs, batches = max(1, int(info.get("epochs") or 1)), max(1, int(info.get("batches") or 1))
        done = (int(info.get("epoch") or 1) - 1) * batches + int(info.get("batch") or 0)
        self.outer.on_progress(min(done, epochs * batches), epochs * batches,
                               "training the suggestion model")
