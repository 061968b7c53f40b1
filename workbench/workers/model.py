"""The Model panel's summary job: builds the spec with Keras (so never on the GUI
thread) and returns the rows of a ``model.summary()``-like table."""
from __future__ import annotations

from workbench.workers.base import Worker


class SummaryWorker(Worker):
    """``finished`` carries ``{"rows": [...], "total": int, "trainable": int,
    "errors": {layer_index | -1: message}, "backbone_layers": int | None}``; a ``SpecError`` becomes an error entry,
    it is not a failure (an invalid model is an expected state while editing)."""

    def __init__(self, spec_dict: dict, num_classes: int) -> None:
        super().__init__()
        self.spec_dict = spec_dict      # a copy: the GUI keeps editing the live spec
        self.num_classes = num_classes

    def work(self):
        from training.models import ModelSpec, SpecError, backbone_layer_count, summarize
        from workbench.workers.tfload import ensure_tensorflow

        ensure_tensorflow()

        try:
            spec = ModelSpec.from_dict(self.spec_dict)
            result = summarize(spec, self.num_classes)
        except SpecError as exc:
            layer = getattr(exc, "layer", None)
            return {"rows": [], "total": None, "trainable": None,
                    "errors": {(-1 if layer is None else int(layer)): getattr(exc, "message", str(exc))}}
        out = normalize_summary(result)
        # The range of the fine-tune-from spin box: the core knows the backbone's layers.
        out["backbone_layers"] = backbone_layer_count(spec) if spec.backbone is not None else None
        return out


def normalize_summary(result: dict) -> dict:
    """``summarize()``'s dict (rows, totals, error) in the shape the panel shows."""
    rows = [r for r in result.get("rows", []) if isinstance(r, dict)]
    errors: dict[int, str] = {}
    err = result.get("error")
    if err:
        layer = err.get("layer")
        errors[-1 if layer is None else int(layer)] = str(err.get("message", err))
    for r in rows:
        if r.get("error") and r.get("index") is not None:
            errors.setdefault(int(r["index"]), str(r["error"]))
    total = result.get("total_params")
    trainable = result.get("trainable_params")
    return {"rows": rows, "total": None if total is None else int(total),
            "trainable": None if trainable is None else int(trainable), "errors": errors}
