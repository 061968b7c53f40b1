"""The Results panel's second tab, Data health, and its one-click "Retrain with fixes".

Kept out of ``results.py``: ``attach_health(panel, evaluation_widget)`` returns the tab
widget the panel lays out and the Data health view (the panel keeps both), wires the view
to the panel's image detail, and lets the panel's galleries relabel/exclude/restore too.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtWidgets import QScrollArea, QTabWidget

from workbench.actions.fixes import fixes_for
from workbench.panels.health import HealthView

log = logging.getLogger(__name__)


def attach_health(panel, evaluation_widget) -> tuple[QTabWidget, HealthView]:
    """Returns ``(tabs, health_view)``."""
    tabs = QTabWidget()
    tabs.addTab(evaluation_widget, "Evaluation")
    health = HealthView(panel.state)
    # In a scroll area: the view's controls need ~730 px, which would push a 1024 px
    # window wider (ux11's layout test); narrow windows scroll instead.
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(health)
    tabs.addTab(scroll, "Data health")
    panel.gallery.enable_fixes(fixes_for(panel.state))

    def show(item: dict) -> None:
        index = panel.state.dataset
        classes = list(index.classes) if index is not None else panel.classes
        panel.detail.show_item(item, classes, index)

    health.itemSelected.connect(show)
    health.retrainRequested.connect(lambda: retrain_with_fixes(panel))
    return tabs, health


def retrain_with_fixes(panel) -> bool:
    """Train the shown run's spec and settings again on the fixed labels (Training panel).
    Returns False (with a message in the view) when it cannot start."""
    from training.recipe.config import TrainConfig
    from training.models import ModelSpec
    from training.runs.runfolder import RunFolder

    run_dir = panel.run_dir
    view = panel.health
    if not run_dir or panel.state.dataset is None:
        view.status.setText("Select a run and open its dataset first.")
        return False
    try:
        folder = RunFolder(run_dir)
        spec = ModelSpec.from_dict(folder.read_spec(), folder.spec_json)
        config = TrainConfig.from_dict(folder.read_config(), folder.config_json)
    except ValueError as exc:
        view.status.setText(f"Cannot retrain {os.path.basename(run_dir)}: {exc}")
        return False
    panel.state.set_model_spec(spec)
    panel.state.set_train_config(config)
    started = panel.state.request_training()
    if started is None:   # no window: a panel on its own
        view.status.setText("Model and settings copied: start training on the Training panel.")
        return False
    if started:
        _compare_after_retrain(panel, run_dir)
    view.status.setText(f"Retraining {os.path.basename(run_dir)} with the fixes…" if started
                        else "Could not start training (is a run already training?)")
    return started


def _compare_after_retrain(panel, old_run: str) -> None:
    """When the retrained run is written, show it beside ``old_run`` in the runs list."""
    from PySide6.QtCore import QTimer

    def on_updated() -> None:
        new = panel.state.run_dir
        if not new or new == old_run:
            return
        panel.state.runsUpdated.disconnect(on_updated)
        panel.health.status.setText(_retrained_text(old_run, new))
        tries = {"n": 0}

        def attempt() -> None:
            tries["n"] += 1
            if not panel.runs.select_paths([old_run, new]) and tries["n"] < 40:
                QTimer.singleShot(250, attempt)

        QTimer.singleShot(250, attempt)

    panel.state.runsUpdated.connect(on_updated)


def _retrained_text(old_run: str, new_run: str) -> str:
    """What the Data health status says once the retrained run is written."""
    from training.runs.runfolder import RunFolder

    try:
        run = RunFolder(new_run).load()   # run.json, a few KB
    except (OSError, ValueError):
        run = {}
    status, acc = run.get("status") or "written", run.get("test_accuracy")
    text = f"Retrained {os.path.basename(old_run)} as {os.path.basename(new_run)}: {status}"
    if isinstance(acc, (int, float)):
        text += f", test accuracy {acc:.1%}"
    return text + ". Both runs are selected in the runs list to compare."
