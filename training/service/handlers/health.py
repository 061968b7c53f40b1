"""``health``: data health checks (label errors, duplicates, leakage, balance, outliers)."""
from __future__ import annotations

from training.service.registry import handler


@handler("health", lane="batch")
def health(request, dataset: dict, run_dir: str | None = None, folds: int | None = None,
           retrain: bool | None = None, repeats: int | None = None) -> dict:
    """``dataset``: a ``DatasetSpec`` dict (reopened here, so the latest label fixes apply).
    Returns ``training.health.check_health``'s report."""
    from training.data import DatasetSpec
    from training.health import check_health

    return check_health(DatasetSpec.from_dict(dataset), run_dir=run_dir, events=request,
                        folds=folds, retrain=retrain, repeats=repeats)
