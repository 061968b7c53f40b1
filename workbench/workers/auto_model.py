"""The Model panel's "Auto" choice in a worker: it reads a sample of image headers,
which takes too long for the GUI thread on a slow disk."""
from __future__ import annotations

from workbench.workers.base import Worker


class AutoChoiceWorker(Worker):
    """``finished`` carries ``AutoChoice.to_dict()`` (template, size, reasons, spec)."""

    def __init__(self, index):
        super().__init__()
        self.index = index  # read only here; the GUI thread doesn't change it

    def work(self) -> dict:
        from training.recipe.auto import auto_choice

        return auto_choice(self.index).to_dict()
