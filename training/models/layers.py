"""The layer types a person can put in a model, their parameter schema, and the check of
one layer's parameters.

``LAYER_TYPES`` is what the GUI's model builder reads to draw a form per layer: for each
parameter its Python type, default, and where it applies ``choices`` or ``min``/``max``,
plus a one-line ``help``. Nothing here imports TensorFlow, so the GUI can import it at
start-up; the Keras layers are made in :func:`make_layer`, which imports Keras lazily.
"""
from __future__ import annotations

import math

from training.models.errors import SpecError

ACTIVATIONS = ["relu", "linear", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "softmax"]

LAYER_TYPES: dict[str, dict[str, dict]] = {
    "Conv2D": {
        "filters": {"type": int, "default": 32, "min": 1, "max": 4096,
                    "help": "Number of feature maps (output channels)."},
        "kernel_size": {"type": int, "default": 3, "min": 1, "max": 31,
                        "help": "Width and height of the square convolution window."},
        "strides": {"type": int, "default": 1, "min": 1, "max": 16,
                    "help": "Step of the window; 2 halves the feature map."},
        "padding": {"type": str, "default": "same", "choices": ["same", "valid"],
                    "help": "'same' keeps the size (with stride 1); 'valid' shrinks it."},
        "activation": {"type": str, "default": "relu", "choices": ACTIVATIONS,
                       "help": "Non-linearity applied to the output."},
    },
    "MaxPooling2D": {
        "pool_size": {"type": int, "default": 2, "min": 1, "max": 16,
                      "help": "Keeps the largest value of each pool_size x pool_size block."},
    },
    "AveragePooling2D": {
        "pool_size": {"type": int, "default": 2, "min": 1, "max": 16,
                      "help": "Averages each pool_size x pool_size block."},
    },
    "BatchNormalization": {
        "momentum": {"type": float, "default": 0.99, "min": 0.0, "max": 0.999,
                     "help": "How slowly the statistics used at test time follow the batches; "
                             "0.9 for small datasets (few steps per epoch)."},
    },
    "Dropout": {
        "rate": {"type": float, "default": 0.5, "min": 0.0, "max": 0.99,
                 "help": "Fraction of values set to zero during training only."},
    },
    "Flatten": {},
    "GlobalAveragePooling2D": {},
    "Dense": {
        "units": {"type": int, "default": 128, "min": 1, "max": 65536,
                  "help": "Number of neurons."},
        "activation": {"type": str, "default": "relu", "choices": ACTIVATIONS,
                       "help": "Non-linearity applied to the output."},
    },
}

# Layers that need an image-shaped (batch, height, width, channels) input.
SPATIAL_TYPES = {"Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"}

_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def layer_label(index: int | None, type_name: str | None) -> str:
    """``"Layer 3 (Dense)"``: how every message names a layer."""
    if index is None:
        return f"Layer ({type_name})" if type_name else "Layer"
    return f"Layer {index} ({type_name})" if type_name else f"Layer {index}"


def resolve_params(index: int, type_name, params, check_ranges: bool = True) -> dict:
    """Checks one layer's parameters and fills in the defaults.

    Args:
        index: the layer's position in ``ModelSpec.layers`` (named in errors).
        type_name: the layer type, a key of ``LAYER_TYPES``.
        params: the parameters given (a dict; missing ones take their default).
        check_ranges: also check ``min``/``max``/``choices``. ``from_dict`` checks only
            the structure and types, so that the model builder can still open a spec
            with an out-of-range value and show the error next to the layer.

    Returns:
        A new dict holding every parameter of the type.

    Raises:
        SpecError: unknown type or parameter, wrong type, or value out of range.
    """
    if not isinstance(type_name, str) or type_name not in LAYER_TYPES:
        raise SpecError(
            f"{layer_label(index, None)}: unknown layer type {type_name!r} "
            f"(known: {', '.join(LAYER_TYPES)}); Received: type={type_name!r}",
            layer=index,
        )
    label = layer_label(index, type_name)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise SpecError(f"{label}: params must be a mapping of name to value; "
                        f"Received: params={params!r}", layer=index)
    schema = LAYER_TYPES[type_name]
    for name, value in params.items():
        if name not in schema:
            known = ", ".join(schema) or "none"
            raise SpecError(f"{label}: unknown parameter {name!r} (known: {known}); "
                            f"Received: {name}={value!r}", layer=index)
    resolved = {}
    for name, info in schema.items():
        value = params.get(name, info["default"])
        value = _check_type(label, index, name, value, info["type"])
        if check_ranges:
            _check_range(label, index, name, value, info)
        resolved[name] = value
    return resolved


def _check_type(label, index, name, value, expected):
    # bool is a subclass of int in Python; `units: true` must not pass as 1.
    ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if expected is float and ok and not math.isfinite(value):
        ok = False
    if not ok:
        raise SpecError(f"{label}: {name} must be {_TYPE_WORDS[expected]}; "
                        f"Received: {name}={value!r} ({type(value).__name__})", layer=index)
    return value


def _check_range(label, index, name, value, info):
    if "choices" in info and value not in info["choices"]:
        raise SpecError(f"{label}: {name} must be one of {', '.join(info['choices'])}; "
                        f"Received: {name}={value!r}", layer=index)
    low, high = info.get("min"), info.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SpecError(f"{label}: {name} must be between {low} and {high}; "
                        f"Received: {name}={value!r}", layer=index)


def spatial_output(type_name: str, params: dict, height: int, width: int) -> tuple[int, int]:
    """The (height, width) a Conv2D or pooling layer produces, by Keras' own formulas.

    Used to refuse a layer that would shrink the feature map below 1x1 with a message,
    before Keras builds it.
    """
    if type_name == "Conv2D":
        k, s, padding = params["kernel_size"], params["strides"], params["padding"]
    else:
        k = s = params["pool_size"]
        padding = "valid"
    if padding == "same":
        return -(-height // s), -(-width // s)
    return (height - k) // s + 1, (width - k) // s + 1


def make_layer(index: int, type_name: str, params: dict, name: str):
    """Creates the Keras layer for a resolved layer spec."""
    import keras

    layers = keras.layers
    if type_name == "Conv2D":
        return layers.Conv2D(params["filters"], params["kernel_size"],
                             strides=params["strides"], padding=params["padding"],
                             activation=params["activation"], name=name)
    if type_name == "MaxPooling2D":
        return layers.MaxPooling2D(params["pool_size"], name=name)
    if type_name == "AveragePooling2D":
        return layers.AveragePooling2D(params["pool_size"], name=name)
    if type_name == "BatchNormalization":
        return layers.BatchNormalization(momentum=params["momentum"], name=name)
    if type_name == "Dropout":
        return layers.Dropout(params["rate"], name=name)
    if type_name == "Flatten":
        return layers.Flatten(name=name)
    if type_name == "GlobalAveragePooling2D":
        return layers.GlobalAveragePooling2D(name=name)
    if type_name == "Dense":
        return layers.Dense(params["units"], activation=params["activation"], name=name)
    raise SpecError(f"{layer_label(index, type_name)}: no Keras layer for this type", layer=index)
