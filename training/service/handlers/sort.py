"""``sort_plan``, ``sort_apply``, ``sort_undo``: the Classify panel's "Sort into folders…"
(``training.sorting``). The plan classifies with the run's warm model; copying, moving
and undoing need no TensorFlow."""
from __future__ import annotations

from training.service.registry import handler


class _Shared:
    """The warm predictor, used one batch at a time under its lock (so a Classify request
    for the same run is answered between batches), at this request's coverage."""

    def __init__(self, warm, coverage: float | None):
        self._warm, self._coverage = warm, coverage
        p = warm.predictor
        self.classes, self.input_size, self.color_mode = p.classes, p.input_size, p.color_mode
        self.run_dir = getattr(p, "run_dir", "")

    def assess_batch(self, images):
        with self._warm.lock:
            p = self._warm.predictor
            kept, p.coverage = p.coverage, self._coverage
            try:
                return p.assess_batch(images)
            finally:
                p.coverage = kept


@handler("sort_plan", lane="batch")
def sort_plan(request, run_dir: str, source: str, dest: str,
              coverage: float | None = None) -> dict:
    """Classify every photo under ``source`` (``training.sorting.plan_sort``).

    Returns:
        ``SortPlan.to_dict()``: ``{source, dest, run_dir, folders, items: [[path, folder]],
        counts, unreadable, skipped}``.
    """
    from training.service.models import MODELS
    from training.sorting import plan_sort

    request.on_status("Loading the model…")
    plan = plan_sort(_Shared(MODELS.get(run_dir), coverage), source, dest, events=request)
    return plan.to_dict()


@handler("sort_apply", lane="batch", tensorflow=False)
def sort_apply(request, plan: dict, move: bool = False) -> dict:
    """Copy (or move) the photos of ``plan`` (``training.sorting.apply_sort``'s dict)."""
    from training.sorting import SortPlan, apply_sort

    return apply_sort(SortPlan.from_dict(plan), move=bool(move), events=request)


@handler("sort_undo", lane="batch", tensorflow=False)
def sort_undo(request, journal: str) -> dict:
    """Undo a sort (``training.sorting.undo_sort``'s dict)."""
    from training.sorting import undo_sort

    return undo_sort(journal, events=request)
