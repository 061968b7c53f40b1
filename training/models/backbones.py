"""Pretrained backbones: which ones, their weight files in the local Keras cache, their
input preprocessing as plain Keras layers, and freezing/unfreezing for fine-tuning.

Building a model never downloads (only an explicit "Download ImageNet weights" or
``train --download-weights`` does, see ``weights_download``). ``weights="imagenet"``
means "the file ``keras.applications`` would have downloaded, already in
``$KERAS_HOME/models`` (``~/.keras/models``)"; when it
is missing, :class:`SpecError` says which file, where to put it, and the alternatives.
The cache folder is resolved at call time (Keras reads ``KERAS_HOME`` once, at import),
so a GUI setting or a test can change it after TensorFlow has loaded.
"""
from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass

from training.models.errors import SpecError


@dataclass(frozen=True)
class BackboneInfo:
    """What the app knows about one ``keras.applications`` network.

    Attributes:
        label: the name people know it by ("MobileNetV2").
        constructor: the ``keras.applications`` function.
        default_size: the template's input size (what the network was trained at, or
            the seed's 96x96 for MobileNetV2).
        min_size: the smallest height/width Keras accepts.
        preprocessing: ``"tf"`` (scale to -1..1), ``"none"`` (the network rescales
            itself) or ``"caffe"`` (RGB to BGR, subtract the ImageNet mean).
        url: where the no-top ImageNet weights are published, for the missing-file message.
    """

    label: str
    constructor: str
    default_size: tuple
    min_size: int
    preprocessing: str
    url: str


BACKBONES: dict[str, BackboneInfo] = {
    "mobilenet_v2": BackboneInfo(
        "MobileNetV2", "MobileNetV2", (96, 96), 32, "tf",
        "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"),
    "efficientnet_b0": BackboneInfo(
        "EfficientNetB0", "EfficientNetB0", (224, 224), 32, "none",
        "https://storage.googleapis.com/keras-applications/"),
    "resnet50": BackboneInfo(
        "ResNet50", "ResNet50", (224, 224), 32, "caffe",
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"),
}
IMAGENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
_MOBILENET_SIZES = (96, 128, 160, 192, 224)
# keras.applications.efficientnet.IMAGENET_STDDEV_RGB, see _fix_efficientnet_imagenet.
_IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def keras_cache_dir() -> str:
    """``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when home is read-only), like Keras."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def backbone_weights_file(name: str, input_size=None, alpha: float = 1.0) -> str:
    """The file name ``keras.applications`` downloads for ImageNet weights without top.

    MobileNetV2 has one file per width and input size; like Keras, a non-square or
    non-standard size uses the 224 file (its convolutions work at any size).
    """
    if name == "mobilenet_v2":
        rows = 224
        if input_size and input_size[0] == input_size[1] and input_size[0] in _MOBILENET_SIZES:
            rows = input_size[0]
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"
    if name == "efficientnet_b0":
        return "efficientnetb0_notop.h5"
    if name == "resnet50":
        return "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    raise SpecError(f"Backbone: unknown backbone (known: {', '.join(BACKBONES)}); "
                    f"Received: name={name!r}")


def imagenet_weights_path(name: str, input_size=None, alpha: float = 1.0) -> str:
    """Where the ImageNet weights file must be: ``<keras cache>/models/<file>``."""
    return os.path.join(keras_cache_dir(), "models", backbone_weights_file(name, input_size, alpha))


def find_cached_weights(name: str, input_size=None, alpha: float = 1.0) -> str | None:
    """The cached ImageNet weights file's path, or ``None`` when it isn't there."""
    path = imagenet_weights_path(name, input_size, alpha)
    return path if os.path.isfile(path) else None


def missing_weights(spec) -> str | None:
    """Why ``spec`` cannot be built for lack of its ImageNet weights, or None (no backbone,
    other weights, or the file is in the Keras cache). One stat call: cheap enough for the
    GUI thread, which asks before starting a training that would fail."""
    bb = getattr(spec, "backbone", None)
    if bb is None or bb.weights != "imagenet":
        return None
    path = imagenet_weights_path(bb.name, spec.input_size, bb.alpha)
    if os.path.isfile(path):
        return None
    info = BACKBONES[bb.name]
    expected = backbone_weights_file(bb.name, spec.input_size, bb.alpha)
    return (f"ImageNet weights for {info.label} are not in the local Keras cache: missing file "
            f"{expected}. Nothing is downloaded unless you ask: press “Download ImageNet "
            f"weights” in the Model panel (or train --download-weights), put the file at {path} "
            f"(it is published at {info.url}{expected}), choose a weights file, or use random "
            "initialisation (weights 'random').")


def runs_in_inference_mode(backbone) -> bool:
    """Whether the backbone's BatchNormalization always uses its stored statistics.

    True for pretrained weights (the Keras transfer-learning guide: keep BN in inference
    mode even when fine-tuning, or the first batches wreck what was learnt) and for any
    frozen backbone. Only a randomly initialised backbone trained from the start learns
    its BN statistics.
    """
    return not (backbone.weights == "random" and backbone.trainable)


@contextlib.contextmanager
def symbolic_variables():
    """Builds layers without allocating their weights (Keras' StatelessScope with lazy
    initialisation): shapes and parameter counts are right, no memory is used.

    The lazily created variables are dropped on exit, so repeated use doesn't grow the
    (thread-local) list Keras keeps of them.
    """
    import keras
    from keras.src.backend.common import global_state

    key = "uninitialized_variables"
    before = list(global_state.get_global_attribute(key) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute(key, before)


def make_backbone(spec, load_weights: bool = True):
    """Creates the backbone model of a spec (``include_top=False``, pooled output).

    Args:
        spec: the ``ModelSpec`` (its ``backbone`` must not be ``None``).
        load_weights: False builds with random weights whatever the spec says
            (``summarize`` uses this, and never touches weight files).

    Returns:
        A ``keras.Model`` named ``spec.backbone.name``, frozen unless ``trainable``.

    Raises:
        SpecError: input too small, weights file missing or not matching.
    """
    import keras

    bb = spec.backbone
    info = BACKBONES[bb.name]
    h, w = spec.input_size
    if h < info.min_size or w < info.min_size:
        raise SpecError(f"The {info.label} backbone needs images of at least "
                        f"{info.min_size}x{info.min_size}; Received: input_size=({h}, {w})")
    # Find the weights file before building, which takes seconds for a large network.
    source = _weights_source(spec) if load_weights and bb.weights != "random" else None
    kwargs = dict(include_top=False, weights=None, input_shape=(h, w, 3),
                  pooling=bb.pooling, name=bb.name)
    if bb.name == "mobilenet_v2":
        kwargs["alpha"] = bb.alpha
    try:
        backbone = getattr(keras.applications, info.constructor)(**kwargs)
    except ValueError as exc:
        raise SpecError(f"The {info.label} backbone can't be built: {exc}") from None
    if source is not None:
        _load_backbone_weights(backbone, spec, *source)
    _set_trainable(backbone, bb, (bb.fine_tune_from or 0) if bb.trainable else None)
    return backbone


def _weights_source(spec) -> tuple[str, bool]:
    """(path, is_imagenet_file) of the spec's backbone weights, checked to exist."""
    import h5py

    bb = spec.backbone
    expected = backbone_weights_file(bb.name, spec.input_size, bb.alpha)
    if bb.weights == "imagenet":
        problem = missing_weights(spec)
        if problem:
            raise SpecError(f"{problem} Received: weights='imagenet'")
        return imagenet_weights_path(bb.name, spec.input_size, bb.alpha), True
    path = os.path.abspath(os.path.expanduser(bb.weights))
    if not os.path.isfile(path):
        raise SpecError(f"The backbone weights file does not exist: {path}; choose "
                        "another file, ImageNet weights or random initialisation; "
                        f"Received: weights={bb.weights!r}")
    if not path.lower().endswith((".h5", ".hdf5")):
        raise SpecError("A backbone weights file must be a Keras weights file ending in "
                        f".weights.h5 or .h5; Received: weights={bb.weights!r}")
    if not h5py.is_hdf5(path):
        raise SpecError(f"The backbone weights file {path} is not an HDF5 file (empty, "
                        f"truncated or something else); Received: weights={bb.weights!r}")
    # A hand-downloaded ImageNet file picked as a file gets the same treatment.
    return path, os.path.basename(path) == expected


def _load_backbone_weights(backbone, spec, path: str, is_imagenet: bool) -> None:
    bb = spec.backbone
    info = BACKBONES[bb.name]
    try:
        backbone.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - Keras/h5py raise ValueError, OSError, KeyError, ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(
            f"The weights file {path} does not fit the {info.label} backbone "
            f"(alpha {bb.alpha}, input {spec.input_size[0]}x{spec.input_size[1]}x3): "
            f"{reason[:400]}; Received: weights={bb.weights!r}") from None
    if is_imagenet and bb.name == "efficientnet_b0":
        _fix_efficientnet_imagenet(backbone)


def _fix_efficientnet_imagenet(backbone) -> None:
    # keras.applications.EfficientNet adds Rescaling(1/sqrt(stddev)) after its
    # Normalization layer only when weights="imagenet" (keras issue tensorflow#49930).
    # We build with weights=None so nothing is ever downloaded, so fold that constant
    # scale into the Normalization variance instead: (x-m)/sqrt(v*s) == (x-m)/sqrt(v)/sqrt(s).
    import keras
    import numpy as np

    for layer in backbone.layers:
        if isinstance(layer, keras.layers.Normalization):
            variance = np.asarray(layer.adapt_variance.numpy())
            layer.adapt_variance.assign(variance * np.asarray(_IMAGENET_STDDEV_RGB, variance.dtype))
            layer.finalize_state()
            return


def _set_trainable(backbone, bb, from_layer: int | None) -> int:
    """Freezes the backbone (``from_layer`` None) or unfreezes it from ``from_layer``."""
    import keras

    if from_layer is None:
        backbone.trainable = False
        return 0
    keep_bn_frozen = runs_in_inference_mode(bb)
    backbone.trainable = True
    count = 0
    for i, layer in enumerate(backbone.layers):
        train = i >= from_layer and not (
            keep_bn_frozen and isinstance(layer, keras.layers.BatchNormalization))
        layer.trainable = train
        if train and layer.weights:
            count += 1
    return count


def set_trainable_for_fine_tune(model, spec, from_layer: int) -> int:
    """Unfreezes the backbone of a built model from layer ``from_layer`` on.

    BatchNormalization layers stay frozen (and the backbone runs in inference mode), as
    the Keras transfer-learning guide recommends. Recompile the model afterwards (with a
    lower learning rate) for the change to take effect in ``fit``.

    Args:
        model: a model from ``build_model`` (or loaded from its ``.keras`` file).
        spec: its ``ModelSpec``.
        from_layer: index into the backbone's layers (0 = everything).

    Returns:
        The number of backbone layers with weights that are now trainable.

    Raises:
        SpecError: the spec has no backbone or ``from_layer`` is out of range.
    """
    if spec.backbone is None:
        raise SpecError(f"Fine-tuning needs a backbone; this spec's template is "
                        f"{spec.template!r}; Received: backbone=None")
    try:
        backbone = model.get_layer(spec.backbone.name)
    except ValueError:
        raise SpecError(f"The model has no backbone layer named {spec.backbone.name!r}; "
                        "was it built from this spec?") from None
    count = len(backbone.layers)
    if isinstance(from_layer, bool) or not isinstance(from_layer, int) or not 0 <= from_layer < count:
        raise SpecError(f"fine_tune_from must be a layer index from 0 to {count - 1} for "
                        f"{BACKBONES[spec.backbone.name].label}; Received: "
                        f"fine_tune_from={from_layer!r}")
    return _set_trainable(backbone, spec.backbone, from_layer)


def backbone_layer_count(spec) -> int:
    """How many layers the spec's backbone has (the range of ``fine_tune_from``)."""
    if spec.backbone is None:
        return 0
    return _layer_count(spec.backbone.name, float(spec.backbone.alpha))


@functools.lru_cache(maxsize=16)
def _layer_count(name: str, alpha: float) -> int:
    import keras

    kwargs = dict(include_top=False, weights=None, input_shape=(96, 96, 3), pooling="avg")
    if name == "mobilenet_v2":
        kwargs["alpha"] = alpha
    with symbolic_variables():
        model = getattr(keras.applications, BACKBONES[name].constructor)(**kwargs)
    return len(model.layers)
