"""The "Auto" model choice: a template, input size, colour mode and augmentation picked
from the data (image size, image count, colour), with the reasons in plain words.

:func:`choose` is a pure function of :class:`DataFacts` (tested without files);
:func:`auto_choice` gathers the facts from an opened dataset (header reads only, via
``training.data.stats``). It never goes online: transfer learning is picked only when the
ImageNet weights are already in the Keras cache, and otherwise the reasons say how to
get them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from training.recipe.config import TrainConfig
from training.recipe.epoch_budget import default_epochs, epochs_reason
from training.models.backbones import find_cached_weights
from training.models.spec import AugmentationSpec, ModelSpec
from training.models.templates import template

AUTO = "auto"  # the choice shown next to the templates (CLI ``--model auto``)

# One epoch of the default CNN on Fashion-MNIST (54,000 28x28 images, 16 first-block
# filters) takes ~40 s on 2 CPU cores; wider first blocks are used while an epoch stays
# within that much work (pixels x filters^2 x images).
_WORK_BUDGET = 28 * 28 * 16 ** 2 * 54_000
_FILTER_CHOICES = (32, 24, 16)
# Few photos: a frozen pretrained backbone beats training from scratch (the Keras
# transfer-learning guide, and the seed tutorials' dog-breed example).
TRANSFER_MAX_IMAGES = 5_000
TRANSFER_MIN_SIDE = 64
TRANSFER_BACKBONE = "mobilenet_v2"
TRANSFER_SIZE = (96, 96)
SMALLEST_AUGMENTED = 16  # below this a shift of 10 % is less than 2 pixels
# Tiny images (a side under SMALLEST_AUGMENTED, e.g. sklearn's 8x8 digits) have room for
# one conv + pool block only, so that block may be wider: 64 filters first, still within
# the work budget. Chosen on the tune8x8 tuning set against 32 and against enlarging the
# images to 16 or 24 px for two blocks (docs/BENCHMARKS.md 8c, round 5).
TINY_FILTERS = 64
# BatchNormalization's test-time statistics follow the batches with momentum 0.99 (Keras'
# default), i.e. over ~100 steps; with fewer steps per epoch than this they lag so far
# behind that validation sits at chance for many epochs (measured: 1,350 images, 21
# steps per epoch, validation at 10 % for 6 epochs, then early stopping). 0.9 follows
# ~10 steps.
FEW_STEPS = 200
SMALL_SET_BN_MOMENTUM = 0.9
# And with very few steps even 0.9 lags: 160 face images (3 steps an epoch) validated at
# chance for 13 of 30 epochs (bench/default_accuracy.py faces, seed 0). So the statistics'
# horizon, 1 / (1 - momentum) steps, is about half an epoch, between 1.5 and 100 steps.


def bn_momentum(steps_per_epoch: int) -> float:
    """BatchNormalization momentum whose averaging horizon is about half an epoch: 0.99
    (Keras' default) from 200 steps an epoch, 0.9 at 20, 0.33 at 3."""
    horizon = min(100.0, max(1.5, steps_per_epoch / 2))
    return round(1 - 1 / horizon, 3)



@dataclass
class DataFacts:
    """What the choice depends on.

    Attributes:
        height, width: the typical (median) image size in pixels.
        gray: every sampled image is grayscale.
        num_train: training images.
        num_classes: classes.
    """

    height: int
    width: int
    gray: bool
    num_train: int
    num_classes: int
    mirror_safe: bool | None = None  # training.recipe.flips.mirror_check (None: not known)


@dataclass
class AutoChoice:
    """The result of :func:`choose`: a ready spec, the epochs to train it for (from the
    dataset's size, :mod:`training.recipe.epoch_budget`) and why they were chosen."""

    template: str
    spec: ModelSpec
    reasons: list = field(default_factory=list)
    epochs: int = TrainConfig().epochs

    @property
    def explanation(self) -> str:
        return " ".join(self.reasons)

    def to_dict(self) -> dict:
        return {"template": self.template, "input_size": list(self.spec.input_size),
                "color_mode": self.spec.color_mode, "reasons": list(self.reasons),
                "epochs": int(self.epochs), "spec": self.spec.to_dict()}


def cnn_blocks(height: int, width: int) -> int:
    """Conv/pool blocks so the last feature map is about 4-7 pixels a side (1 to 4)."""
    return max(1, min(4, int(math.log2(max(1, min(height, width)) / 4))))


def cnn_filters(height: int, width: int, num_train: int) -> int:
    """The widest first block (32, 24 or 16 filters; up to TINY_FILTERS for tiny images)
    within the work budget."""
    tiny = min(height, width) < SMALLEST_AUGMENTED and TINY_FILTERS > _FILTER_CHOICES[0]
    for f in ((TINY_FILTERS,) if tiny else ()) + _FILTER_CHOICES:
        if height * width * f * f * max(1, num_train) <= _WORK_BUDGET:
            return f
    return _FILTER_CHOICES[-1]


def choose(facts: DataFacts, suggested_size, imagenet_available: bool) -> AutoChoice:
    """The model for data like ``facts``, and its epochs.

    Args:
        facts: see :class:`DataFacts`.
        suggested_size: ``(height, width)`` from ``training.data.suggest_input`` (the
            one owner of "what size to train at").
        imagenet_available: the MobileNetV2 ImageNet weights are in the Keras cache.
    """
    choice = _choose_model(facts, suggested_size, imagenet_available)
    choice.epochs = default_epochs(facts.num_train)
    choice.reasons.append(epochs_reason(facts.num_train))
    return choice


def _choose_model(facts: DataFacts, suggested_size, imagenet_available: bool) -> AutoChoice:
    h, w = (int(v) for v in suggested_size)
    color = "grayscale" if facts.gray else "rgb"
    size_text = f"{facts.width}×{facts.height}" if (facts.width, facts.height) != (w, h) \
        else f"{w}×{h}"
    few_photos = (not facts.gray and min(facts.height, facts.width) >= TRANSFER_MIN_SIDE
                  and facts.num_train <= TRANSFER_MAX_IMAGES)
    if few_photos and imagenet_available:
        spec = template(TRANSFER_BACKBONE, input_size=TRANSFER_SIZE, color_mode="rgb")
        spec.augmentation = AugmentationSpec(flip="horizontal", rotation=0.05, zoom=0.1)
        spec.name = "auto_mobilenet_v2"
        return AutoChoice(TRANSFER_BACKBONE, spec, [
            f"{facts.num_train:,} colour photos of about {size_text} px: few enough that "
            "features learnt on ImageNet beat training from scratch, so a frozen "
            f"MobileNetV2 (ImageNet weights, found in the Keras cache) at "
            f"{TRANSFER_SIZE[0]}×{TRANSFER_SIZE[1]} with a new head.",
            "Light augmentation (horizontal flip, small rotation and zoom) because photos "
            "look the same mirrored and the set is small."])
    blocks = cnn_blocks(h, w)
    filters = cnn_filters(h, w, facts.num_train)
    spec = template("cnn", input_size=(h, w), color_mode=color, blocks=blocks,
                    filters=filters, convs_per_block=2, batch_norm=True, dropout=0.3,
                    dense_units=256)
    spec.name = "auto_cnn"
    steps = -(-max(1, facts.num_train) // TrainConfig().batch_size)
    # A big set keeps Keras' default 0.99 (the Fashion-MNIST default-accuracy run in
    # docs/BENCHMARKS.md was measured with it); a small one follows faster.
    for layer in spec.layers:
        if layer.type == "BatchNormalization":
            layer.params["momentum"] = bn_momentum(steps)
    reasons = [
        f"{facts.num_train:,} {'grayscale' if facts.gray else 'colour'} training images of "
        f"about {size_text} px in {facts.num_classes} classes: a CNN trained from scratch "
        f"at {h}×{w} {color},",
        f"{blocks} block{'s' if blocks > 1 else ''} of 2 Conv2D + BatchNormalization "
        f"({filters} filters first"
        + (", fewer for a big set to keep epochs short on a CPU" if filters < 32 else "")
        + (", wider because tiny images have room for one block only" if filters > 32 else "")
        + f"; last map {h >> blocks}×{w >> blocks}), Dense 256, Dropout 0.3"
        + (f"; BatchNormalization momentum {bn_momentum(steps):g} (only {steps} steps per "
           "epoch, so its statistics must follow faster)." if steps < FEW_STEPS else ".")]
    if few_photos:
        reasons.append("With this few photos a pretrained MobileNetV2 would likely do "
                       "better, but its ImageNet weights are not in the Keras cache: use "
                       "“Download ImageNet weights” (or --download-weights) to enable it.")
    if min(h, w) >= SMALLEST_AUGMENTED:
        # Colour photos get flips unless the mirror check finds orientation matters;
        # grayscale sets none, even where the check finds them safe: on Fashion-MNIST
        # (safe by the check) flips plus shifts left the 19-epoch run underfitted (train
        # and validation accuracy both 92.9 %, test 92.57 % with seed 0; the published run
        # without flips, seed 42: 93.13 %).
        flips = not facts.gray and facts.mirror_safe is not False
        spec.augmentation = AugmentationSpec(translation=0.1,
                                             flip="horizontal" if flips else "none")
        reasons.append("Light augmentation: shifts of up to 10 %" + _flip_reason(facts, flips))
    else:
        reasons.append(f"No augmentation: at {h}×{w} even a one-pixel shift changes a lot.")
    return AutoChoice("cnn", spec, reasons)


def _flip_reason(facts: DataFacts, flips: bool) -> str:
    if flips:
        return " and horizontal flips (photos look the same mirrored" + (
            "; checked on a sample)." if facts.mirror_safe else ").")
    if facts.mirror_safe is False:
        return ("; no flips: mirrored, these images are told apart worse than the originals "
                "(checked on a sample), as with digits and letters.")
    return "; no flips (they change digits and letters, and slow a short run down)."


def placeholder() -> ModelSpec:
    """The Auto spec before any dataset is open: the CNN Auto picks for 28x28 grayscale."""
    return choose(DataFacts(28, 28, True, 1_000, 10), (28, 28), imagenet_available=False).spec


def auto_choice(index) -> AutoChoice:
    """:func:`choose` for an opened ``DatasetIndex`` (reads a sample of file headers)."""
    from training.data import suggest_input
    from training.data.stats import GRAY_MODES

    stats = index.image_stats(48)
    size, mode = suggest_input(index)
    counts = index.counts()
    from training.recipe.flips import mirror_check

    facts = DataFacts(
        height=int(stats["height"]["median"]) or int(size[0]),
        width=int(stats["width"]["median"]) or int(size[1]),
        gray=mode == "grayscale" and all(m in GRAY_MODES for m in stats.get("modes", {})),
        num_train=int(sum(counts.get("train", {}).values())),
        num_classes=len(index.classes),
        mirror_safe=mirror_check(index).safe)
    available = find_cached_weights(TRANSFER_BACKBONE, TRANSFER_SIZE) is not None
    return choose(facts, size, available)
