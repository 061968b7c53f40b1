"""The Model panel's "Auto" choice on the thread pool: it reads a sample of image headers,
which takes too long for the GUI thread on a slow disk (no TensorFlow: it stays in the
window's process)."""
from __future__ import annotations

from workbench.workers.pool import PoolWorker


class AutoChoiceWorker(PoolWorker):
    """``finished`` carries ``AutoChoice.to_dict()`` (template, size, reasons, spec)."""

    def __init__(self, index):
        super().__init__()
        self.index = index  # read only here; the GUI thread doesn't change it

    def work(self) -> dict:
        from training.recipe.auto import auto_choice

        return auto_choice(self.index).to_dict()
