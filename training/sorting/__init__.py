"""Sort a folder of photos into class folders with a run's model (issue 23): plan (classify,
count per class), then copy or move with a journal, and undo. No TensorFlow import here:
the caller hands in a predictor (``training.export.predictor.open_predictor``)."""
from training.sorting.apply import DiskFullError, apply_sort, undo_sort, undo_command
from training.sorting.plan import UNKNOWN, SortError, SortPlan, plan_sort

__all__ = ["UNKNOWN", "DiskFullError", "SortError", "SortPlan", "apply_sort", "plan_sort",
           "undo_command", "undo_sort"]
