"""``summary``: the layer table and parameter counts of a model spec (built with Keras)."""
from __future__ import annotations

from training.service.registry import handler


@handler("summary")
def summary(request, spec: dict, num_classes: int) -> dict:
    """Returns ``{"summary": summarize()'s dict, "backbone_layers": int | None}``, or
    ``{"spec_error": {"layer": int | None, "message"}}`` for a spec Keras can't build (an
    expected state while someone edits a model, not a failure)."""
    from training.models import ModelSpec, SpecError, backbone_layer_count, summarize

    try:
        model_spec = ModelSpec.from_dict(spec)
        result = summarize(model_spec, int(num_classes))
    except SpecError as exc:
        layer = getattr(exc, "layer", None)
        return {"spec_error": {"layer": None if layer is None else int(layer),
                               "message": getattr(exc, "message", str(exc))}}
    layers = backbone_layer_count(model_spec) if model_spec.backbone is not None else None
    return {"summary": result, "backbone_layers": layers}
