"""The progress bar of a compute-service job: its requests report ``(done, total, what)``,
and a total of 0 means the job can't count its steps yet, so the bar keeps its busy look."""
from __future__ import annotations

from PySide6.QtWidgets import QProgressBar


class JobProgressBar(QProgressBar):
    def show_job(self, done: int, total: int, what: str) -> None:
        if total > 0:
            self.setRange(0, total)
            self.setValue(done)
            self.setFormat(f"{what} %p%")
