"""The Training panel's honest extras: how many files a run left out as unreadable (with
a link to the Dataset panel's report), and the settings of a run being resumed."""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

log = logging.getLogger(__name__)
LINK = "bad-files"


def bad_files_label(panel) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setStyleSheet("QLabel { background: #fff8e1; border: 1px solid #f0d58c; padding: 6px; }")
    label.linkActivated.connect(lambda _link: panel.state.badFilesRequested.emit())
    label.hide()
    return label


def _run_json(run_dir: str) -> dict:
    from training.runs.runfolder import RunError, RunFolder

    try:
        return RunFolder(run_dir).read_info()
    except (RunError, OSError) as exc:
        log.info("Cannot read %s: %s", run_dir, exc)
        return {}


def bad_files_count(run_dir: str | None) -> int:
    """How many files the run dropped (run.json ``bad_files``; 0 when none or unreadable)."""
    n = _run_json(run_dir).get("bad_files") if run_dir else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 0


def show_bad_files(label: QLabel, run_dir: str | None, count: int | None = None) -> int:
    """Show how many files the run dropped; returns the count. ``count``: already read
    (on the app's pool); None reads run.json here."""
    n = bad_files_count(run_dir) if count is None else count
    if n <= 0:
        label.hide()
        return 0
    label.setText(f"{n:,} file{'s' if n != 1 else ''} could not be read or used and "
                  f"{'were' if n != 1 else 'was'} left out of this run. "
                  f"<a href='{LINK}'>See the report</a> (Dataset panel → Bad files).")
    label.show()
    return n


def read_run_config(run_dir: str) -> dict | None:
    """The run's own training settings (config.json), for the header while resuming."""
    from training.runs.runfolder import RunError, RunFolder

    try:
        data = RunFolder(run_dir).read_config()
    except (RunError, OSError):
        return None
    keys = ("epochs", "batch_size", "optimizer", "learning_rate")
    if not isinstance(data, dict) or not all(k in data for k in keys):
        return None
    from training.recipe.config import TrainConfig

    try:  # a followed folder may come from anywhere: the header shows checked values only
        config = TrainConfig.from_dict(data)
    except (ValueError, TypeError) as exc:
        log.info("Not showing %s's settings: %s", run_dir, exc)
        return None
    return {k: getattr(config, k) for k in keys}
