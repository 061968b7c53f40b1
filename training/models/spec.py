"""The model spec: a JSON-serialisable description of a model that the GUI edits and
:func:`training.models.build_model` turns into a ``keras.Model``.

Nothing here imports TensorFlow. ``from_dict``/``load`` check everything a file can get
wrong (not JSON, truncated, missing or unknown keys, wrong types, a newer
``schema_version``) and raise :class:`SpecError` with a message, never a ``KeyError``.
Value ranges (a Dropout rate of 1.5, say) are checked by :meth:`ModelSpec.validate`,
which ``build_model`` and ``summarize`` call, so that the model builder can still open
such a spec and show the error next to the layer.

Schema history: 1 (first version). A new optional field with a default is a minor change
and keeps the version; a removed or renamed field bumps it. ``augmentation.test_time_flip``
(flip test-time augmentation, ``training.models.tta``) was added that way: off by default,
which is how the models of older files were built.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field

from training.models.backbones import BACKBONES, IMAGENET_ALPHAS
from training.safefiles import check_schema, write_json
from training.models.errors import SpecError
from training.models.layers import resolve_params

SCHEMA_VERSION = 1
MODEL_TEMPLATES = ("mlp", "cnn", "transfer")
COLOR_MODES = ("grayscale", "rgb")
FLIP_MODES = ("none", "horizontal", "vertical", "horizontal_and_vertical")
HORIZONTAL_FLIPS = ("horizontal", "horizontal_and_vertical")  # modes that train on mirrors
POOLINGS = ("avg", "max")


@dataclass
class LayerSpec:
    """One editable layer: a type from ``LAYER_TYPES`` and its parameters.

    Missing parameters take the schema's defaults when the model is built.
    """

    type: str
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"type": self.type, "params": dict(self.params)}


@dataclass
class AugmentationSpec:
    """Random changes applied to training images only (Keras preprocessing layers).

    Attributes:
        flip: ``"none"``, ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``.
        rotation: up to this fraction of a full turn either way (0.05 = ±18°); 0..0.5.
        zoom: zoom in or out by up to this fraction of the size; 0..0.9.
        contrast: change contrast by up to this fraction; 0..1.
        translation: shift by up to this fraction of height and width; 0..0.5.
        test_time_flip: with a horizontal ``flip``, the model also predicts on the image's
            left-right mirror and averages the two softmax outputs (``training.models.tta``;
            see :attr:`flip_tta`). No effect without horizontal flips: a model that never
            saw a mirrored image is worse on one (docs/BENCHMARKS.md 8c).
    """

    flip: str = "none"
    rotation: float = 0.0
    zoom: float = 0.0
    contrast: float = 0.0
    translation: float = 0.0
    # Off by default: docs/BENCHMARKS.md 8c (round 4) measured no gain from it on the
    # suite's mirror-safe sets (models trained with flips), at about twice the prediction time.
    test_time_flip: bool = False

    @property
    def flip_tta(self) -> bool:
        """Whether the model averages the image and its mirror when predicting: it trains
        with horizontal flips and ``test_time_flip`` is on."""
        return self.test_time_flip and self.flip in HORIZONTAL_FLIPS

    @property
    def enabled(self) -> bool:
        return self.flip != "none" or any(
            getattr(self, n) for n in ("rotation", "zoom", "contrast", "translation"))

    def validate(self) -> None:
        if self.flip not in FLIP_MODES:
            raise SpecError(f"Augmentation: flip must be one of {', '.join(FLIP_MODES)}; "
                            f"Received: flip={self.flip!r}")
        if not isinstance(self.test_time_flip, bool):
            raise SpecError(f"Augmentation: test_time_flip must be true or false; "
                            f"Received: test_time_flip={self.test_time_flip!r}")
        for name, high in (("rotation", 0.5), ("zoom", 0.9), ("contrast", 1.0),
                           ("translation", 0.5)):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= high:
                raise SpecError(f"Augmentation: {name} must be a fraction between 0 and "
                                f"{high}; Received: {name}={value!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class BackboneSpec:
    """A pretrained network (``keras.applications``, without its top) used as the base.

    Attributes:
        name: a key of ``BACKBONES``: ``mobilenet_v2``, ``efficientnet_b0``, ``resnet50``.
        weights: ``"imagenet"`` (from the local Keras cache, never downloaded),
            ``"random"``, or the path of a weights file (``.h5`` / ``.weights.h5``).
        trainable: False freezes the whole backbone (the usual first phase). True trains
            it from ``fine_tune_from`` on (or all of it); BatchNormalization layers stay
            frozen either way, as the Keras transfer-learning guide recommends.
        pooling: ``"avg"`` or ``"max"``: how the last feature map becomes a vector.
        fine_tune_from: index into the backbone's layers from which a fine-tune phase
            unfreezes it; ``None`` for no fine-tuning.
        alpha: MobileNetV2 width multiplier (1.0 for the others). ImageNet weights exist
            for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4.
    """

    name: str
    weights: str = "imagenet"
    trainable: bool = False
    pooling: str = "avg"
    fine_tune_from: int | None = None
    alpha: float = 1.0

    def validate(self) -> None:
        if self.name not in BACKBONES:
            raise SpecError(f"Backbone: unknown backbone (known: {', '.join(BACKBONES)}); "
                            f"Received: name={self.name!r}")
        if not isinstance(self.weights, str) or not self.weights.strip():
            raise SpecError("Backbone: weights must be 'imagenet', 'random' or a weights "
                            f"file path; Received: weights={self.weights!r}")
        if not isinstance(self.trainable, bool):
            raise SpecError(f"Backbone: trainable must be true or false; "
                            f"Received: trainable={self.trainable!r}")
        if self.pooling not in POOLINGS:
            raise SpecError(f"Backbone: pooling must be 'avg' or 'max'; "
                            f"Received: pooling={self.pooling!r}")
        ftf = self.fine_tune_from
        if ftf is not None and (not isinstance(ftf, int) or isinstance(ftf, bool) or ftf < 0):
            raise SpecError("Backbone: fine_tune_from must be a layer index (0 or more) or "
                            f"null; Received: fine_tune_from={ftf!r}")
        if not _is_number(self.alpha) or not 0.1 <= self.alpha <= 2.0:
            raise SpecError(f"Backbone: alpha must be between 0.1 and 2.0; "
                            f"Received: alpha={self.alpha!r}")
        if self.name != "mobilenet_v2" and self.alpha != 1.0:
            raise SpecError(f"Backbone: alpha applies to mobilenet_v2 only; "
                            f"Received: name={self.name!r}, alpha={self.alpha!r}")
        if self.weights == "imagenet" and self.alpha not in IMAGENET_ALPHAS:
            raise SpecError("Backbone: ImageNet weights exist for alpha "
                            f"{', '.join(map(str, IMAGENET_ALPHAS))} only; choose one of "
                            f"those or random weights; Received: alpha={self.alpha!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class ModelSpec:
    """Everything needed to build a model, as data.

    Attributes:
        schema_version: format version of the JSON (see the module docstring).
        name: shown in run lists; also the Keras model name (sanitised).
        template: ``"mlp"``, ``"cnn"`` or ``"transfer"``: what the spec started from.
        input_size: (height, width) of the images fed to the model.
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
        augmentation: random changes during training (off by default).
        backbone: the pretrained base for ``transfer``; ``None`` otherwise.
        layers: the editable body between the input (or backbone) and the
            classification head, which ``build_model`` adds from the class count.
    """

    schema_version: int = SCHEMA_VERSION
    name: str = "model"
    template: str = "cnn"
    input_size: tuple = (28, 28)
    color_mode: str = "grayscale"
    augmentation: AugmentationSpec = field(default_factory=AugmentationSpec)
    backbone: BackboneSpec | None = None
    layers: list = field(default_factory=list)

    @property
    def channels(self) -> int:
        return 1 if self.color_mode == "grayscale" else 3

    def validate(self, check_layers: bool = True) -> None:
        """Checks every value, including ranges.

        Args:
            check_layers: False checks everything but ``layers`` (the builder checks
                those one by one, in order, so earlier layers still get summarised).

        Raises:
            SpecError: naming the field or layer (``.layer`` set) and the value received.
        """
        if self.template not in MODEL_TEMPLATES:
            raise SpecError(f"template must be one of {', '.join(MODEL_TEMPLATES)}; "
                            f"Received: template={self.template!r}")
        size = self.input_size
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096
                           for v in size)):
            raise SpecError("input_size must be (height, width), two whole numbers from 1 "
                            f"to 4096; Received: input_size={size!r}")
        if self.color_mode not in COLOR_MODES:
            raise SpecError(f"color_mode must be 'grayscale' or 'rgb'; "
                            f"Received: color_mode={self.color_mode!r}")
        self.augmentation.validate()
        if self.template == "transfer" and self.backbone is None:
            raise SpecError("template 'transfer' needs a backbone; Received: backbone=None")
        if self.backbone is not None:
            self.backbone.validate()
        if check_layers:
            for i, layer in enumerate(self.layers):
                resolve_params(i, layer.type, layer.params)

    def to_dict(self) -> dict:
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "template": self.template,
            "input_size": list(self.input_size),
            "color_mode": self.color_mode,
            "augmentation": self.augmentation.to_dict(),
            "backbone": None if self.backbone is None else self.backbone.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
        }

    @classmethod
    def from_dict(cls, data, where=None) -> "ModelSpec":
        """Reads a spec written by :meth:`to_dict` (``where``: the file it came from, named
        by the message about a newer version).

        Raises:
            SpecError: not a mapping, a newer or missing ``schema_version``, missing or
                unknown keys, or wrong types (naming the key or layer and the value).
        """
        if not isinstance(data, dict):
            raise SpecError(f"A model spec must be a JSON object; "
                            f"Received: {type(data).__name__}")
        check_schema(data, "model spec", SCHEMA_VERSION, where=where, error=SpecError)
        _check_keys(data, "model spec", required={"template", "input_size", "color_mode",
                                                  "layers"},
                    known={f.name for f in dataclasses.fields(cls)})
        name = _typed(data.get("name", "model"), str, "name")
        template = _typed(data["template"], str, "template")
        color_mode = _typed(data["color_mode"], str, "color_mode")
        size = data["input_size"]
        if (not isinstance(size, list) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
            raise SpecError(f"input_size must be [height, width]; Received: input_size={size!r}")
        aug = _sub_spec(AugmentationSpec, data.get("augmentation") or {}, "augmentation")
        backbone = data.get("backbone")
        if backbone is not None:
            backbone = _sub_spec(BackboneSpec, backbone, "backbone", required={"name"})
        layers = data["layers"]
        if not isinstance(layers, list):
            raise SpecError(f"layers must be a list; Received: layers={layers!r}")
        parsed = []
        for i, item in enumerate(layers):
            if not isinstance(item, dict) or "type" not in item:
                raise SpecError(f"Layer {i}: must be an object with 'type' and 'params'; "
                                f"Received: {item!r}", layer=i)
            _check_keys(item, f"Layer {i}", required={"type"}, known={"type", "params"}, layer=i)
            params = item.get("params") or {}
            # Structure and types only; ranges are reported by validate() at build time.
            resolve_params(i, item["type"], params, check_ranges=False)
            parsed.append(LayerSpec(item["type"], dict(params)))
        return cls(schema_version=SCHEMA_VERSION, name=name, template=template,
                   input_size=(size[0], size[1]), color_mode=color_mode,
                   augmentation=aug, backbone=backbone, layers=parsed)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "model spec", where=None) -> "ModelSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{source} is not valid JSON (truncated or corrupt?): {exc.msg} "
                            f"at line {exc.lineno}, column {exc.colno}") from None
        return cls.from_dict(data, where)

    def save(self, path) -> None:
        """Writes the spec as JSON (to a temporary file first, so a crash can't leave
        half a file)."""
        write_json(path, self.to_dict(), indent=2)

    @classmethod
    def load(cls, path) -> "ModelSpec":
        path = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"Can't read the model spec {path}: {exc}") from None
        return cls.from_json(text, source=f"The model spec {path}", where=path)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _typed(value, expected, key):
    if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
        raise SpecError(f"{key} must be {'a string' if expected is str else expected.__name__}; "
                        f"Received: {key}={value!r}")
    return value


def _check_keys(data: dict, where: str, required: set, known: set, layer=None) -> None:
    missing = sorted(required - set(data))
    if missing:
        raise SpecError(f"{where}: missing key {missing[0]!r}; Received keys: "
                        f"{', '.join(sorted(data)) or 'none'}", layer=layer)
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (known: "
                        f"{', '.join(sorted(known))}); Received: "
                        f"{unknown[0]}={data[unknown[0]]!r}", layer=layer)


def _sub_spec(cls, data, where: str, required=frozenset()):
    """Builds a small dataclass from a dict, checking keys and each field's type."""
    if not isinstance(data, dict):
        raise SpecError(f"{where} must be an object; Received: {where}={data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _check_keys(data, where, required=set(required), known=set(fields))
    defaults = cls(**{k: data[k] for k in required})
    for key, value in data.items():
        default = getattr(defaults, key)
        if key in required:
            ok = isinstance(value, str)
        elif key == "fine_tune_from":
            ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = _is_number(value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            raise SpecError(f"{where}: {key} has the wrong type (expected "
                            f"{type(default).__name__}); Received: {key}={value!r}")
    return cls(**{k: (float(v) if isinstance(getattr(defaults, k), float) else v)
                  for k, v in data.items()})
