"""The five panels the main window shows: their keys, sidebar labels and icons, and how
each is built: its module is imported on first need (off the GUI thread after the first
paint), and a panel whose module fails to import is replaced by a placeholder saying why.
Kept apart from the window so the list of panels has one owner."""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from workbench.workers.pool import PoolWorker

log = logging.getLogger(__name__)


# Each panel's module is imported when it is first needed (off the GUI thread after the
# first paint, see _start_deferred_work), so these are functions holding real imports
# (which import-linter and editors follow), not module-name strings.
def _dataset_panel():
    from workbench.panels.dataset import DatasetPanel
    return DatasetPanel


def _model_panel():
    from workbench.panels.model import ModelPanel
    return ModelPanel


def _training_panel():
    from workbench.panels.training import TrainingPanel
    return TrainingPanel


def _results_panel():
    from workbench.panels.results import ResultsPanel
    return ResultsPanel


def _classify_panel():
    from workbench.panels.classify import ClassifyPanel
    return ClassifyPanel


# (key used by --panel, the panel class's importer, its class name, sidebar label, icon)
PANELS = (
    ("data", _dataset_panel, "DatasetPanel", "Dataset", "dataset.svg"),
    ("model", _model_panel, "ModelPanel", "Model", "model.svg"),
    ("train", _training_panel, "TrainingPanel", "Training", "training.svg"),
    ("results", _results_panel, "ResultsPanel", "Results", "results.svg"),
    ("classify", _classify_panel, "ClassifyPanel", "Classify", "classify.svg"),
)
PANEL_KEYS = tuple(p[0] for p in PANELS)


class Panels(dict):
    """``{key: panel}`` that builds a panel the first time it is asked for, so code can
    always write ``window.panels["results"]``; iterating sees only built panels."""

    def __init__(self, build) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, key: str):
        if key not in PANEL_KEYS:
            raise KeyError(key)
        return self._build(key)


class ImportWorker(PoolWorker):
    """Imports modules on the pool (class definitions only; no widgets are made)."""

    def __init__(self, loaders: list) -> None:
        super().__init__()
        self.loaders = loaders

    def work(self) -> None:
        # What these imports make lives until exit: the GUI thread's collector freezes it
        # at its next tick (workbench/collector.py).
        for load in self.loaders:
            try:
                load()
            except Exception:  # the panel shows why (see _make_panel)
                log.exception("importing a panel failed")


class PlaceholderPanel(QWidget):
    """Stands in for a panel whose module could not be imported (shows why)."""

    def __init__(self, title: str, reason: str, parent=None):
        super().__init__(parent)
        self.title = title
        label = QLabel(f"The {title} panel is not available.\n\n{reason}")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        QVBoxLayout(self).addWidget(label)

    def pending_work(self) -> bool:
        return False

    def shutdown(self) -> None:
        pass
