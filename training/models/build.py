"""Turning a :class:`ModelSpec` into Keras models.

Every model has the same shape, so a saved ``.keras`` file classifies raw images on its
own: ``Input`` (float 0..255) → augmentation (only when called with ``training=True``)
→ the image and its mirror (flip test-time augmentation, when the spec trains with
horizontal flips: ``training.models.tta``) → grayscale to RGB (when a backbone needs
three channels) → preprocessing (``Rescaling`` or the backbone's ``preprocess_input`` as
layers) → backbone → the spec's layers → the head (→ the mean of the two views). No
``Lambda`` layers, so models load with ``safe_mode=True``; our own layers
(:class:`~training.models.augment.Augmentation` and the two of ``training.models.tta``)
are registered with Keras (load with :func:`training.models.load_model`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from training.models.backbones import (_CAFFE_MEAN_BGR, BACKBONES, make_backbone,
                                       runs_in_inference_mode)
from training.models.errors import SpecError
from training.models.layers import (SPATIAL_TYPES, layer_label, make_layer, resolve_params,
                                    spatial_output)


@dataclass
class ModelParts:
    """A model and, for a frozen backbone without augmentation, its two halves.

    Attributes:
        model: the end-to-end model (what gets saved).
        features: input → preprocessing → frozen backbone, giving the feature vector;
            ``None`` unless the backbone is frozen and augmentation is off.
        head: feature vector → the spec's layers → predictions. Its layers *are* the
            model's layers, so training ``head`` on precomputed features trains ``model``.
    """

    model: Any
    features: Any = None
    head: Any = None


def head_units(num_classes: int) -> int:
    """1 (sigmoid) for two classes, else one softmax unit per class."""
    return 1 if num_classes == 2 else num_classes


def can_precompute_features(spec) -> bool:
    """Whether the head can be trained on backbone features computed once (a frozen
    backbone and no augmentation: the features of an image never change)."""
    return (spec.backbone is not None and not spec.backbone.trainable
            and not spec.augmentation.enabled)


def build_model(spec, num_classes: int):
    """Builds the end-to-end ``keras.Model`` of a spec (not compiled).

    Args:
        spec: a :class:`ModelSpec`.
        num_classes: 2 gives a ``Dense(1, sigmoid)`` head, more a ``Dense(n, softmax)``.

    Returns:
        The ``keras.Model``; its output layer is named ``"predictions"`` and is float32
        (so mixed precision works) and gives probabilities.

    Raises:
        SpecError: naming the layer (``.layer``) and the reason, or the missing weights
            file and where to put it.
    """
    return build_parts(spec, num_classes).model


def build_parts(spec, num_classes: int) -> ModelParts:
    """Builds the model and, where it applies, its features/head halves (see
    :class:`ModelParts`) for training the head on precomputed backbone features."""
    return assemble(spec, num_classes)


def assemble(spec, num_classes: int, load_weights: bool = True,
             on_layer: Callable | None = None) -> ModelParts:
    """The one build path behind ``build_parts`` and ``summarize``.

    Args:
        spec: the :class:`ModelSpec`.
        num_classes: number of classes (2 or more).
        load_weights: False skips weight files (random backbone weights).
        on_layer: called as ``on_layer(role, index, layer)`` after each top-level layer
            is added (role: input, augmentation, preprocessing, backbone, layer, head;
            index: the position in ``spec.layers`` for role "layer", else None).
    """
    import keras

    spec.validate(check_layers=False)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 2:
        raise SpecError(f"A classifier needs at least 2 classes; "
                        f"Received: num_classes={num_classes!r}")
    report = on_layer or (lambda role, index, layer: None)
    h, w = spec.input_size
    # What keras.Input does, keeping the layer (public API) for the summary's first row.
    input_layer = keras.layers.InputLayer(shape=(h, w, spec.channels), name="image")
    inputs = input_layer.output
    report("input", None, input_layer)
    x = inputs
    for layer in _augmentation_layers(spec.augmentation):
        x = layer(x)
        report("augmentation", None, layer)
    tta = spec.augmentation.flip_tta
    if tta:
        from training.models.tta import MirrorViews

        layer = MirrorViews(name="mirror_views", dtype="float32")
        x = layer(x)
        report("augmentation", None, layer)
    bb = spec.backbone
    if bb is not None and spec.channels == 1:
        # Pretrained backbones take three channels; repeat the gray one (a built-in
        # layer, unlike a Lambda, so safe_mode can load it).
        layer = keras.layers.Concatenate(axis=-1, name="gray_to_rgb")
        x = layer([x, x, x])
        report("preprocessing", None, layer)
    for layer in _preprocessing_layers(bb, set_weights=load_weights):
        x = layer(x)
        report("preprocessing", None, layer)
    backbone = None
    if bb is not None:
        backbone = make_backbone(spec, load_weights=load_weights)
        # training=False keeps BatchNormalization (and EfficientNet's dropout) in
        # inference mode even after unfreezing, as the Keras transfer-learning guide
        # does; it is saved with the model.
        x = backbone(x, training=False) if runs_in_inference_mode(bb) else backbone(x)
        report("backbone", None, backbone)
    features_out = x
    head = keras.layers.Dense(head_units(num_classes),
                              activation="sigmoid" if num_classes == 2 else "softmax",
                              name="predictions", dtype="float32")
    body = []
    for i in range(len(spec.layers)):
        layer = _body_layer(spec, i, x.shape)
        x = _call_layer(spec, i, layer, x)
        body.append(layer)
        report("layer", i, layer)
    _check_vector(spec, x.shape)
    outputs = head(x)
    report("head", None, head)
    if tta:
        from training.models.tta import MeanOfViews

        mean = MeanOfViews(name="mean_of_views", dtype="float32")
        outputs = mean(outputs)
        report("head", None, mean)
    model = keras.Model(inputs, outputs, name=_model_name(spec.name))
    if not can_precompute_features(spec):
        return ModelParts(model)
    features = keras.Model(inputs, features_out, name="features")
    head_in = keras.Input(shape=tuple(features_out.shape[1:]), name="features")
    y = head_in
    for layer in body:
        y = layer(y)
    head_model = keras.Model(head_in, head(y), name="head")
    return ModelParts(model, features, head_model)


def _augmentation_layers(aug) -> list:
    if not aug.enabled:
        return []
    from training.models.augment import Augmentation

    return [Augmentation(aug.flip, aug.rotation, aug.zoom, aug.contrast, aug.translation,
                         name="augmentation")]


def _preprocessing_layers(bb, set_weights: bool = True) -> list:
    """The backbone's ``preprocess_input`` (or 1/255 without one) as serialisable layers."""
    import keras

    if bb is None:
        return [keras.layers.Rescaling(1.0 / 255, name="rescale")]
    kind = BACKBONES[bb.name].preprocessing
    if kind == "tf":  # mobilenet_v2.preprocess_input: x / 127.5 - 1
        return [keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")]
    if kind == "caffe":
        return [_CaffePreprocess(set_weights)]
    return []  # EfficientNet rescales and normalises inside the network


class _CaffePreprocess:
    """resnet50.preprocess_input (RGB→BGR, minus the ImageNet mean) as a frozen 1x1
    ``Conv2D``: a channel permutation kernel and the negative mean as bias. float32 so
    mixed precision doesn't round the mean away."""

    def __new__(cls, set_weights: bool = True):
        import keras

        layer = keras.layers.Conv2D(3, 1, name="preprocess", trainable=False, dtype="float32")
        layer.build((None, None, None, 3))
        if set_weights:
            kernel = np.zeros((1, 1, 3, 3), np.float32)
            for out_channel, in_channel in enumerate((2, 1, 0)):
                kernel[0, 0, in_channel, out_channel] = 1.0
            layer.set_weights([kernel, -np.asarray(_CAFFE_MEAN_BGR, np.float32)])
        return layer


def _body_layer(spec, i: int, input_shape):
    """The Keras layer for ``spec.layers[i]``, after checking its parameters and the
    shape it will receive, so that problems get a message instead of a Keras trace."""
    ls = spec.layers[i]
    params = resolve_params(i, ls.type, ls.params)
    label = layer_label(i, ls.type)
    shape = tuple(input_shape[1:])
    if ls.type in SPATIAL_TYPES and len(shape) != 3:
        raise SpecError(
            f"{label}: needs an image-shaped input (height, width, channels), but the "
            f"layer before it gives a flat vector of {shape[-1]} values; move it before "
            f"Flatten, Dense or GlobalAveragePooling2D; Received: input shape {shape}",
            layer=i)
    if ls.type in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
        oh, ow = spatial_output(ls.type, params, shape[0], shape[1])
        if oh < 1 or ow < 1:
            got = ", ".join(f"{k}={v!r}" for k, v in params.items()
                            if k in ("kernel_size", "strides", "padding", "pool_size"))
            raise SpecError(f"{label}: output would be {max(oh, 0)}x{max(ow, 0)} for "
                            f"input {shape[0]}x{shape[1]}; Received: {got}", layer=i)
    return make_layer(i, ls.type, params, f"{_snake(ls.type)}_{i}")


def _call_layer(spec, index, layer, x):
    try:
        return layer(x)
    except Exception as exc:  # noqa: BLE001 - a Keras shape/value error: translate, don't trace
        text = str(exc).strip().splitlines()
        raise SpecError(f"{layer_label(index, spec.layers[index].type)}: "
                        f"{text[0] if text else type(exc).__name__}", layer=index) from None


def _check_vector(spec, shape) -> None:
    if len(shape) == 2:
        return
    last = len(spec.layers) - 1 if spec.layers else None
    what = f"the last layer ({spec.layers[last].type})" if spec.layers else "the input"
    raise SpecError(
        f"The classification head needs a flat vector, but {what} gives a feature map of "
        f"shape {tuple(shape[1:])}; add Flatten or GlobalAveragePooling2D at the end; "
        f"Received: output shape {tuple(shape[1:])}", layer=last)


def _snake(type_name: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", type_name).lower()


def _model_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_")
    return cleaned or "model"
