"""Data health checks (``training.health.check_health``) off the GUI thread."""
from __future__ import annotations

from workbench.workers.base import Worker


class HealthWorker(Worker):
    """``finished(report dict)``; progress and cancel through the core's events.

    Args:
        dataset: a ``DatasetSpec`` (reopened here, so the latest label fixes apply) or a
            ``DatasetIndex``.
        run_dir: the run whose model ranks label errors (None: pixels only).
        folds: K of the cross-validation.
    """

    def __init__(self, dataset, run_dir: str | None = None, folds: int = 3):
        super().__init__()
        self.dataset, self.run_dir, self.folds = dataset, run_dir, folds

    def work(self) -> dict:
        from training.health import check_health

        if self.run_dir:
            from workbench.workers.tfload import ensure_tensorflow

            ensure_tensorflow()
        return check_health(self.dataset, run_dir=self.run_dir, events=self.events, folds=self.folds)
