"""The one exception every model-spec problem turns into."""
from __future__ import annotations


class SpecError(ValueError):
    """A model spec that can't be read, built or loaded, with a message for the user.

    Constructed as ``SpecError(layer_index, message)`` (the documented contract),
    ``SpecError(message)`` or ``SpecError(message, layer=index)``.

    Attributes:
        layer: the index into ``ModelSpec.layers`` of the offending layer, or ``None``
            when the problem is not one layer's (input size, backbone, weights file, JSON).
        message: the text shown to the user; it names what was wrong and the value
            received, in Keras' ``Received: name=value`` style.
    """

    def __init__(self, *args, layer: int | None = None):
        if len(args) == 2:
            layer, message = args
        elif len(args) == 1:
            (message,) = args
        else:
            raise TypeError(f"SpecError takes (message) or (layer, message); Received: {args!r}")
        super().__init__(message)
        self.message = str(message)
        self.layer = layer
