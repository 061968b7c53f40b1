"""Data health checks (``training.health.check_health``) off the GUI thread."""
from __future__ import annotations

from workbench.workers.base import Worker


class HealthWorker(Worker):
    """``finished(report dict)``; progress and cancel through the core's events.

    Args:
        dataset: a ``DatasetSpec`` (reopened here, so the latest label fixes apply) or a
            ``DatasetIndex``.
        run_dir: the run whose model ranks label errors (None: pixels only).
        folds, retrain, repeats: as ``check_health`` (None: its defaults; with a run that
            is K-fold retraining of the run's model, the method that finds most errors).
    """

    def __init__(self, dataset, run_dir: str | None = None, folds: int | None = None,
                 retrain: bool | None = None, repeats: int | None = None):
        super().__init__()
        self.dataset, self.run_dir, self.folds = dataset, run_dir, folds
        self.retrain, self.repeats = retrain, repeats

    def work(self) -> dict:
        from training.health import check_health

        if self.run_dir:
            from workbench.workers.tfload import ensure_tensorflow

            ensure_tensorflow()
        return check_health(self.dataset, run_dir=self.run_dir, events=self.events, folds=self.folds,
                            retrain=self.retrain, repeats=self.repeats)
