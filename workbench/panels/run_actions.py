"""What the runs list's right-click menu does to a run: rename (a display name kept in
run.json), notes, delete (the run folder only, after confirmation), plus the path
actions every file list has. The changes go through ``training.runs.manage``.

The dialogs are small and modal on purpose (a name, a note, a yes/no); the file work
behind them is one small JSON write or one folder removal.
"""
from __future__ import annotations

import logging
import os

from PySide6.QtWidgets import QInputDialog, QMessageBox

log = logging.getLogger(__name__)


def add_run_actions(menu, runs_list, path: str) -> None:
    """Rename…, Notes…, Delete… for the run at ``path`` (the path actions follow)."""
    run = next((r for r in runs_list.runs if r.get("path") == path), {})
    menu.addAction("Rename…").triggered.connect(lambda _=False: rename(runs_list, path, run))
    menu.addAction("Notes…").triggered.connect(lambda _=False: edit_notes(runs_list, path, run))
    menu.addAction("Delete run…").triggered.connect(lambda _=False: delete(runs_list, path, run))


def _report(runs_list, exc: Exception) -> None:
    log.warning("Run change failed: %s", exc)
    QMessageBox.warning(runs_list, "Run not changed", str(exc))


def _save(runs_list, path: str, write, value: str) -> bool:
    """Write one edited field of the run with ``write(path, value)``; report a failure."""
    try:
        write(path, value)
    except (OSError, ValueError) as exc:
        _report(runs_list, exc)
        return False
    runs_list.run_edited(path)
    return True


def rename(runs_list, path: str, run: dict) -> bool:
    from training.runs.manage import rename_run

    name, ok = QInputDialog.getText(runs_list, "Rename run",
                                    f"Name shown for {os.path.basename(path)} "
                                    "(the folder keeps its name; empty: no name):",
                                    text=run.get("display_name") or "")
    return ok and _save(runs_list, path, rename_run, name)


def edit_notes(runs_list, path: str, run: dict) -> bool:
    from training.runs.manage import set_notes

    notes, ok = QInputDialog.getMultiLineText(runs_list, "Run notes",
                                              f"Notes for {run.get('display_name') or os.path.basename(path)}:",
                                              run.get("notes") or "")
    return ok and _save(runs_list, path, set_notes, notes)


def delete(runs_list, path: str, run: dict) -> bool:
    from training.runs.manage import delete_run

    shown = run.get("display_name") or os.path.basename(path)
    answer = QMessageBox.question(
        runs_list, "Delete run",
        f"Delete the run “{shown}”?\n\nThis removes the run folder {path} (its models, "
        "history and evaluation). Your dataset is not touched. This cannot be undone.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    try:
        delete_run(path)
    except (OSError, ValueError) as exc:
        _report(runs_list, exc)
        return False
    runs_list.run_deleted(path)
    return True
