"""Ready-made specs: the networks of the seed tutorials, as starting points to edit."""
from __future__ import annotations

from training.models.backbones import BACKBONES
from training.models.errors import SpecError
from training.models.spec import BackboneSpec, LayerSpec, ModelSpec

# The one list of templates, with what the CLI and the Model panel show for each.
TEMPLATES: dict[str, str] = {
    "mlp": "Flatten + Dense layers: the Fashion-MNIST network of the tutorials. "
           "Fast; good for small grayscale images.",
    "cnn": "Conv2D/MaxPooling blocks + Dense: the cats-vs-dogs and MNIST networks. "
           "A solid default for images you train from scratch.",
    "mobilenet_v2": "A pretrained MobileNetV2 base with a new head: "
                    "small and fast, the dog-breed tutorial's network (96×96 RGB).",
    "efficientnet_b0": "A pretrained EfficientNetB0 base: "
                       "accurate for its size (224×224 RGB).",
    "resnet50": "A pretrained ResNet50 base: large and accurate, "
                "slow on a CPU (224×224 RGB).",
}
TEMPLATE_LABELS: dict[str, str] = {
    "mlp": "MLP", "cnn": "CNN", "mobilenet_v2": "MobileNetV2 (transfer)",
    "efficientnet_b0": "EfficientNetB0 (transfer)", "resnet50": "ResNet50 (transfer)",
}

_OPTIONS = {
    "mlp": {"units": 128, "hidden_layers": 1, "dropout": 0.0},
    "cnn": {"blocks": 2, "filters": 32, "kernel": 3, "convs_per_block": 1,
            "batch_norm": True, "dropout": 0.25, "dense_units": 128},
    "transfer": {"weights": "imagenet", "dropout": 0.2, "pooling": "avg",
                 "fine_tune_from": None, "alpha": 1.0, "dense_units": 0},
}


def template(name: str, input_size=None, color_mode: str | None = None, **options) -> ModelSpec:
    """A starting spec.

    Args:
        name: a key of ``TEMPLATES``.
        input_size: (height, width); default 28x28 for ``mlp``/``cnn``, the backbone's
            size for transfer templates (96x96 MobileNetV2, 224x224 the others).
        color_mode: ``"grayscale"`` or ``"rgb"``; default grayscale for ``mlp``/``cnn``,
            rgb for transfer.
        **options: for ``mlp``: ``units=128``, ``hidden_layers=1``, ``dropout=0.0``.
            For ``cnn``: ``blocks=2`` (Conv2D/MaxPooling blocks, filters doubling per
            block), ``filters=32``, ``kernel=3``, ``convs_per_block=1``,
            ``batch_norm=True``, ``dropout=0.25``, ``dense_units=128``. For transfer:
            ``weights="imagenet"`` (or ``"random"`` or a file), ``dropout=0.2``,
            ``pooling="avg"``, ``fine_tune_from=None``, ``alpha=1.0`` (MobileNetV2),
            ``dense_units=0`` (an extra Dense layer before the head when > 0).

    Returns:
        The :class:`ModelSpec`.

    Raises:
        SpecError: unknown template or option.
    """
    if name not in TEMPLATES:
        raise SpecError(f"Unknown template (known: {', '.join(TEMPLATES)}); "
                        f"Received: name={name!r}")
    kind = "transfer" if name in BACKBONES else name
    unknown = sorted(set(options) - set(_OPTIONS[kind]))
    if unknown:
        raise SpecError(f"Template {name!r}: unknown option {unknown[0]!r} (known: "
                        f"{', '.join(_OPTIONS[kind])}); Received: "
                        f"{unknown[0]}={options[unknown[0]]!r}")
    opts = {**_OPTIONS[kind], **options}
    if kind == "transfer":
        size = tuple(input_size or BACKBONES[name].default_size)
        return ModelSpec(
            name=name, template="transfer", input_size=size, color_mode=color_mode or "rgb",
            backbone=BackboneSpec(name, weights=opts["weights"], pooling=opts["pooling"],
                                  fine_tune_from=opts["fine_tune_from"],
                                  alpha=float(opts["alpha"])),
            layers=_dense_tail(opts["dense_units"], opts["dropout"]))
    size = tuple(input_size or (28, 28))
    layers = _mlp_layers(opts) if kind == "mlp" else _cnn_layers(opts)
    return ModelSpec(name=name, template=kind, input_size=size,
                     color_mode=color_mode or "grayscale", layers=layers)


def _mlp_layers(opts) -> list:
    # Seed 003's Fashion-MNIST net: Flatten, Dense relu (x hidden_layers), head.
    layers = [LayerSpec("Flatten", {})]
    for _ in range(int(opts["hidden_layers"])):
        layers.append(LayerSpec("Dense", {"units": opts["units"], "activation": "relu"}))
        if opts["dropout"]:
            layers.append(LayerSpec("Dropout", {"rate": float(opts["dropout"])}))
    return layers


CNN_BN_MOMENTUM = 0.9


def _cnn_layers(opts) -> list:
    # Seeds 000/004: Conv2D(same, relu) blocks with MaxPooling, filters doubling.
    blocks = int(opts["blocks"])
    if not 1 <= blocks <= 6:
        raise SpecError(f"Template 'cnn': blocks must be from 1 to 6; Received: blocks={blocks!r}")
    layers = []
    for b in range(blocks):
        filters = int(opts["filters"]) * 2 ** b
        for _ in range(int(opts["convs_per_block"])):
            layers.append(LayerSpec("Conv2D", {"filters": filters, "kernel_size": int(opts["kernel"]),
                                               "strides": 1, "padding": "same",
                                               "activation": "relu"}))
            if opts["batch_norm"]:
                # 0.9, not Keras' 0.99: with 0.99 the test-time statistics follow ~100
                # steps, and a small set (the bundled sample: ~20 steps an epoch) then
                # validates at chance for many epochs (see training/recipe/auto.py).
                layers.append(LayerSpec("BatchNormalization", {"momentum": CNN_BN_MOMENTUM}))
        layers.append(LayerSpec("MaxPooling2D", {"pool_size": 2}))
    layers.append(LayerSpec("Flatten", {}))
    return layers + _dense_tail(opts["dense_units"], opts["dropout"])


def _dense_tail(units, dropout) -> list:
    layers = []
    if units:
        layers.append(LayerSpec("Dense", {"units": int(units), "activation": "relu"}))
    if dropout:
        layers.append(LayerSpec("Dropout", {"rate": float(dropout)}))
    return layers
