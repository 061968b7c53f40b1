"""Classify → "Sort into folders…": sort a folder of photos into ``DEST/<class>/`` with the
chosen run (``training.sorting``, issue 23 item 4).

Three steps, each a compute-service request run by the dialog's ``JobRunner``, so the
window neither runs TensorFlow nor copies files on its thread:

1. *Count photos* (``sort_plan``): every photo is classified; the counts per folder and
   the files that could not be read are shown, and nothing on disk changes yet.
2. *Copy N photos* (``sort_apply``): copy is the default; *Move* is a choice the person
   makes (and is refused for a read-only source). Progress, Cancel.
3. The result, with *Undo sort* (``sort_undo``): deletes the copies still as made, or
   puts moved photos back. A sort that was interrupted (the app was closed or killed)
   is offered for undo when the dialog opens again (its journal is in the app data
   folder).
"""
from __future__ import annotations

import logging
import os

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFileDialog, QGridLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QListWidget, QProgressBar,
                               QPushButton, QRadioButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from workbench.appstate.settings import Settings
from workbench.compute.jobs import ServiceJob
from workbench.widgets.error_details import error_html, offer_details
from workbench.workers.job_runner import JobRunner
from workbench.workers.pool import PoolWorker

log = logging.getLogger(__name__)
SHOWN_BAD = 200   # unreadable files listed (all of them are in the log)


class InterruptedSortFinder(PoolWorker):
    """The newest sort journal that is neither finished nor undone (``finished``: a dict
    ``{journal, source, dest, created, operation, count}`` or None). Reading and checking
    a journal of thousands of photos takes longer than a frame: the pool does it."""

    def work(self):
        from training.data.move_journal import FolderMoveError
        from training.data.sort_journal import read_sort_journal, sort_journals

        for path in sort_journals()[:5]:
            try:
                j = read_sort_journal(path)
            except FolderMoveError:
                continue
            if not j.undone and not j.finished:
                return {"journal": path, "source": j.source, "dest": j.root, "created": j.created,
                        "operation": j.operation, "count": len(j.moves)}
        return None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class SortDialog(QDialog):
    """See module docstring. ``run_dir``: the run (or exported model) that classifies."""

    def __init__(self, run_dir: str, run_label: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName("sortDialog")
        self.setWindowTitle("Sort photos into folders")
        self.run_dir = run_dir
        self.settings = Settings()
        self.plan: dict | None = None
        self.journal: str | None = None
        self.result: dict | None = None
        self.sorted = False        # the plan shown was carried out (sorting it again: Count)
        self._phase = ""           # "plan" | "apply" | "undo" while a job runs
        self._jobs = JobRunner(self)
        self._build(run_label or os.path.basename(run_dir.rstrip("/\\")))
        self._update()
        self._jobs.start(InterruptedSortFinder(), finished=self._on_interrupted)

    # ----------------------------------------------------------------- layout
    def _build(self, run_label: str) -> None:
        intro = QLabel(f"Each photo under the folder to sort is classified with <b>{run_label}</b> "
                       "and copied into a folder named after its class; photos the model is not "
                       "sure of go to <i>unknown</i>. You see the counts before anything is "
                       "copied, names are never overwritten, and the sort can be undone.")
        intro.setWordWrap(True)
        self.source_edit, self.dest_edit = QLineEdit(), QLineEdit()
        self.source_edit.setPlaceholderText("The folder of photos (its sub-folders too)")
        self.dest_edit.setPlaceholderText("Where the class folders are made")
        form = QGridLayout()
        for row, (text, edit, purpose) in enumerate((("Photos to sort:", self.source_edit, "sort_source"),
                                                     ("Put them in:", self.dest_edit, "sort_dest"))):
            button = QPushButton("Choose…")
            button.clicked.connect(lambda _=False, e=edit, p=purpose: self._choose(e, p))
            edit.textChanged.connect(self._forget_plan)
            form.addWidget(QLabel(text), row, 0)
            form.addWidget(edit, row, 1)
            form.addWidget(button, row, 2)
        self.count_button = QPushButton("Count photos")
        self.count_button.setToolTip("Classify every photo and show how many go into each "
                                     "folder; nothing is copied yet")
        self.count_button.clicked.connect(self.count)
        form.addWidget(self.count_button, 2, 2)

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Folder", "Photos"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        # Compact rows: ten classes and unknown fit without scrolling in a 640 px window.
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.empty = QLabel("Choose the folder of photos and where to put them, then "
                            "Count photos: the counts per class appear here.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: palette(mid); border: 2px dashed palette(mid); padding: 16px;")
        self.bad_label = QLabel("")
        self.bad_list = QListWidget()
        self.bad_list.setMaximumHeight(4 * self.fontMetrics().height() + 10)   # ~3 rows, scrolls

        self.copy_radio = QRadioButton("Copy the photos (the originals stay where they are)")
        self.move_radio = QRadioButton("Move the photos (they leave the folder sorted)")
        self.copy_radio.setChecked(True)
        self.copy_radio.toggled.connect(self._update)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m photos")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._jobs.request_stop)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        offer_details(self.status)

        self.undo_button = QPushButton("Undo sort")
        self.undo_button.setToolTip("Delete the copies this sort made (only files still as "
                                    "copied), or put moved photos back")
        self.undo_button.clicked.connect(self.undo)
        self.sort_button = QPushButton("Copy photos")
        self.sort_button.setDefault(True)
        self.sort_button.clicked.connect(self.sort)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sort_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.bad_label)
        layout.addWidget(self.bad_list)
        choice = QWidget()
        cv = QVBoxLayout(choice)
        cv.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(self.copy_radio)
        cv.addWidget(self.move_radio)
        layout.addWidget(choice)
        layout.addLayout(prog)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(680, 600)

    # ----------------------------------------------------------------- actions
    def set_folders(self, source: str, dest: str) -> None:
        self.source_edit.setText(source)
        self.dest_edit.setText(dest)

    def _choose(self, edit: QLineEdit, purpose: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder",
                                                  edit.text() or self.settings.last_folder(purpose))
        if folder:
            self.settings.set_last_folder(purpose, folder)
            edit.setText(folder)

    @Slot()
    def count(self) -> None:
        """Classify the photos (``sort_plan``) and show the counts; nothing is copied."""
        source, dest = self.source_edit.text().strip(), self.dest_edit.text().strip()
        if not source or not dest:
            self.status.setText("Choose the folder of photos and where to put them first.")
            return
        self._run("plan", ServiceJob({"run_dir": self.run_dir, "source": source, "dest": dest},
                                     method="sort_plan"), self._on_plan)

    @Slot()
    def sort(self) -> None:
        """Copy (or, when chosen, move) the counted photos (``sort_apply``)."""
        if self.plan is None:
            return
        self.result, self.journal, self.sorted = None, None, False
        move = self.move_radio.isChecked()
        self._run("apply", ServiceJob({"plan": self.plan, "move": move}, method="sort_apply"),
                  self._on_sorted)

    @Slot()
    def undo(self) -> None:
        """Undo the last sort (``sort_undo``)."""
        if self.journal:
            self._run("undo", ServiceJob({"journal": self.journal}, method="sort_undo"),
                      self._on_undone)

    def _run(self, phase: str, job: ServiceJob, finished) -> None:
        self._phase = phase
        self.progress.setRange(0, 0)
        self._jobs.start(job, finished=finished, failed=self._on_failed, stopped=self._on_stopped,
                         done=self._on_done, status=self.status.setText, progress=self._on_progress)
        self._update()

    def busy(self) -> bool:
        return bool(self._phase)

    def shutdown(self) -> None:
        self._jobs.shutdown()

    def closeEvent(self, event) -> None:
        if self._phase == "apply":   # the files keep coming: say so rather than hide it
            self.status.setText("Wait for the sort to end, or Cancel it first.")
            event.ignore()
            return
        self._jobs.cancel()
        super().closeEvent(event)

    # ----------------------------------------------------------------- answers
    @Slot()
    def _forget_plan(self) -> None:
        if self.plan is not None and not self._phase:
            self.plan, self.sorted = None, False
            self.table.setRowCount(0)
            self.bad_list.clear()
            self.status.setText("The folders changed: count the photos again.")
        self._update()

    def _on_plan(self, plan: dict) -> None:
        self.plan, self.sorted = plan, False
        counts = plan.get("counts") or {}
        self.table.setRowCount(len(counts))
        for row, (folder, n) in enumerate(counts.items()):
            self.table.setItem(row, 0, QTableWidgetItem(folder))
            item = QTableWidgetItem(f"{n:,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, 1, item)
        self._show_bad(plan.get("unreadable") or [])
        total = len(plan.get("items") or [])
        text = f"{_plural(total, 'photo')} counted into {plan.get('dest')}."
        if plan.get("skipped"):
            text += f" {_plural(len(plan['skipped']), 'other file')} (not photos) stay where they are."
        self.status.setText(text + " Choose copy or move, then sort.")

    def _show_bad(self, bad: list) -> None:
        self.bad_list.clear()
        source = (self.plan or {}).get("source") or ""
        for b in bad[:SHOWN_BAD]:
            path = str(b.get("path"))
            shown = os.path.relpath(path, source) if source and path.startswith(source) else path
            self.bad_list.addItem(f"{shown}: {b.get('reason')}")
            self.bad_list.item(self.bad_list.count() - 1).setToolTip(path)
        if len(bad) > SHOWN_BAD:
            self.bad_list.addItem(f"… and {len(bad) - SHOWN_BAD:,} more")
        self.bad_label.setText(f"{_plural(len(bad), 'file')} could not be read and will stay "
                               "where they are:")

    def _on_sorted(self, result: dict) -> None:
        self.result, self.journal = result, result.get("journal")
        verb = "Moved" if result.get("operation") == "move" else "Copied"
        parts = ", ".join(f"{folder} {n:,}" for folder, n in (result.get("counts") or {}).items() if n)
        text = f"{verb} {_plural(result.get('done', 0), 'photo')} into {result.get('dest')} ({parts})."
        failed = result.get("failed") or []
        if failed:
            text += (f" {_plural(len(failed), 'photo')} could not be sorted: "
                     + "; ".join(f"{f['path']}: {f['reason']}" for f in failed[:3]))
        self.status.setText(text + (" Undo sort deletes the copies again." if verb == "Copied"
                                    else " Undo sort puts them back."))
        self.sorted = True   # the counts stay on show; sorting again needs a new count

    def _on_undone(self, result: dict) -> None:
        kept = result.get("kept") or []
        verb = "Deleted" if result.get("operation") == "copy" else "Put back"
        text = f"Undone: {verb.lower()} {_plural(result.get('restored', 0), 'photo')}."
        if kept:
            text += (f" {_plural(len(kept), 'file')} kept: "
                     + "; ".join(f"{k['path']} ({k['reason']})" for k in kept[:3]))
        self.status.setText(text)
        self.journal, self.sorted = None, False

    def _on_interrupted(self, found) -> None:
        if found and not self.journal and not self._phase:
            self.journal = found["journal"]
            self.status.setText(f"A sort of {found['source']} into {found['dest']} "
                                f"({found['created'].replace('T', ' ')}) did not finish: the app "
                                "was closed or stopped during it. Undo sort puts everything back "
                                "as it was.")
        self._update()

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, _what: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)

    def _on_failed(self, message: str) -> None:
        if self._phase == "apply":
            self._find_journal()
        self.status.setText(error_html(message))

    def _on_stopped(self) -> None:
        if self._phase == "apply":
            self._find_journal()
            self.status.setText("Sort cancelled. The photos sorted so far stay sorted; Undo "
                                "sort takes them back out.")
        else:
            self.status.setText("Cancelled.")

    def _find_journal(self) -> None:
        """A sort that stopped (full disk, Cancel) left its journal: offer its undo."""
        from training.data.sort_journal import sort_journals

        newest = sort_journals()[:1]
        self.journal = newest[0] if newest else None

    def _on_done(self) -> None:
        self._phase = ""
        self._update()

    def _update(self, *_args) -> None:
        busy = bool(self._phase)
        for w in (self.source_edit, self.dest_edit, self.count_button, self.copy_radio,
                  self.move_radio):
            w.setEnabled(not busy)
        has_plan = self.plan is not None
        n = len(self.plan.get("items") or []) if has_plan else 0
        verb = "Move" if self.move_radio.isChecked() else "Copy"
        self.sort_button.setText(f"{verb} {_plural(n, 'photo')}" if has_plan else f"{verb} photos")
        self.sort_button.setEnabled(has_plan and n > 0 and not busy and not self.sorted)
        self.undo_button.setEnabled(bool(self.journal) and not busy)
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.table.setVisible(has_plan)
        self.empty.setVisible(not has_plan)
        bad = has_plan and self.bad_list.count() > 0
        self.bad_label.setVisible(bad)
        self.bad_list.setVisible(bad)
