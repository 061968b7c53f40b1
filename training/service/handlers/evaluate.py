"""``evaluate``: evaluate a saved run on its test split and write ``evaluation.json``."""
from __future__ import annotations

from training.service.registry import handler


@handler("evaluate", lane="batch")
def evaluate(request, run_dir: str, dataset: dict | None = None) -> dict:
    """``dataset``: a ``DatasetSpec`` dict to evaluate on (None: the run's own dataset).

    Returns ``{"run_dir", "evaluation": evaluate()'s dict}``.
    """
    from training.data import DatasetSpec
    from training.inference.evaluate import evaluate as evaluate_run

    request.on_status("Loading the model…")
    spec = DatasetSpec.from_dict(dataset) if dataset else None
    result = evaluate_run(run_dir, spec, events=request)
    return {"run_dir": run_dir, "evaluation": dict(result)}
