"""The runs list of the Results panel (seed 004's comparison table) and its curve overlay."""
from __future__ import annotations

import re

from PySide6.QtCore import QItemSelectionModel, Qt, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from workbench.charts.run_compare import RunCompareChart
from workbench.panels.run_actions import add_run_actions
from workbench.widgets.path_menu import install_path_menu
from workbench.widgets.error_details import error_html, offer_details
from workbench.workers.evaluation import RunsLoader
from workbench.workers.run_watcher import same_path
from workbench.workers.job_runner import JobRunner

COLUMNS = ("Run", "Model", "Dataset", "Status", "Ep.", "Val", "Test", "Time")
# Short headers keep every column in view at 1024 px; these say what they mean.
COLUMN_TIPS = ("The run's name (right-click to rename it or add notes)", "Model template",
               "The dataset it trained on (full name in each cell's tooltip)", "Run status",
               "Epochs trained", "Best validation accuracy", "Test accuracy",
               "Wall time, every segment of a resumed run included")
COLUMN_STATUS = COLUMNS.index("Status")
COLUMN_DATASET = COLUMNS.index("Dataset")
ALL = "All"   # the filter choice that shows every run
PathRole = Qt.ItemDataRole.UserRole + 1


class _SortItem(QTableWidgetItem):
    """Sorts by the raw number (UserRole) rather than the displayed text."""

    def __lt__(self, other):
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        # Not super().__lt__: PySide dispatches that back to this override (recursion).
        return self.text() < other.text()


class RunsList(QWidget):
    """Table of every run under the runs root; select one to load it, several to compare.

    Signals:
        runActivated(str): the run folder the person selected (single selection).
    """

    runActivated = Signal(str)
    # A run's folder was deleted from the list's menu (the panel forgets it).
    runDeleted = Signal(str)

    def __init__(self, root: str | None = None, parent=None):
        super().__init__(parent)
        self.root = root
        self.runs: list[dict] = []
        self._want: str | None = None   # a run to highlight once the list has it
        self._runner = JobRunner(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for c, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(c).setToolTip(tip)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        # The run's name keeps its width; the dataset label (often long: a folder name plus
        # counts) takes what is left and is elided in the middle, its tooltip in full.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMN_DATASET, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._on_selection)
        install_path_menu(self.table, self._path_at,
                          lambda menu, path: add_run_actions(menu, self, path))
        self.filters = {}
        filter_row = QHBoxLayout()
        filter_row.addWidget(QLabel("Show:"))
        for key, label in (("dataset", "datasets"), ("model", "models"), ("status", "statuses")):
            combo = QComboBox()
            combo.addItem(f"{ALL} {label}", ALL)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.currentIndexChanged.connect(self._apply_filters)
            combo.setToolTip(f"Show only the runs of one of the {label}")
            self.filters[key] = combo
            filter_row.addWidget(combo)
        filter_row.addStretch(1)
        self.compare = RunCompareChart()
        self.hint = QLabel("No runs yet. Train a model to see it listed here.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        offer_details(self.hint)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the runs folder again")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        title = QLabel("<b>Runs</b> (select several to compare)")
        top.addWidget(title, 1)
        top.addWidget(refresh)
        left = QVBoxLayout()
        left.addLayout(top)
        left.addLayout(filter_row)
        left.addWidget(self.hint)
        left.addWidget(self.table, 1)
        # A wide strip: the comparison table (seed 004's test_metrics) beside the curves.
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left, 3)
        layout.addWidget(self.compare, 2)
        self.compare.setMinimumHeight(170)

    @Slot()
    def refresh(self) -> None:
        """Re-list the runs folder in the background."""
        self._runner.start(RunsLoader(self.root), finished=self._on_runs,
                           failed=lambda message: self.hint.setText(error_html(message, color=None)))

    def pending_work(self) -> bool:
        return self._runner.busy()

    def shutdown(self) -> None:
        self._runner.shutdown()
        self.compare.shutdown()

    def select_run(self, run_dir: str) -> None:
        """Highlight ``run_dir`` in the table without re-emitting ``runActivated``
        (re-listing the runs first when it is new)."""
        if not self._select(run_dir):
            self._want = run_dir
            self.refresh()

    def _select(self, run_dir: str) -> bool:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and same_path(item.data(PathRole), run_dir):
                self.table.blockSignals(True)
                self.table.selectRow(row)
                self.table.blockSignals(False)
                self._update_compare()
                return True
        return False

    def select_paths(self, paths: list[str]) -> bool:
        """Select ``paths`` together (their curves overlay in the comparison chart), without
        re-emitting ``runActivated``. False while one of them is not listed yet."""
        table = self.table
        rows = []
        for p in paths:
            row = next((r for r in range(table.rowCount())
                        if table.item(r, 0) is not None and same_path(table.item(r, 0).data(PathRole), p)), None)
            if row is None:
                return False
            rows.append(row)
        table.blockSignals(True)
        table.selectionModel().clearSelection()
        self._select_rows(rows)
        table.blockSignals(False)
        self._update_compare()
        return True

    def _select_rows(self, rows: list[int]) -> None:
        model, sel = self.table.model(), self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            sel.select(model.index(row, 0), flags)

    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedItems()})
        return [self.table.item(r, 0).data(PathRole) for r in rows]

    def _on_runs(self, runs: list) -> None:
        selected = self.selected_paths()
        self.runs = list(runs)
        table = self.table
        table.blockSignals(True)
        table.setSortingEnabled(False)
        table.setRowCount(len(self.runs))
        for r, run in enumerate(reversed(self.runs)):  # newest first
            acc = run.get("test_accuracy")
            val = run.get("best_val_accuracy")
            dur = run.get("duration")
            cells = [(run.get("display_name") or short_name(run.get("name", "")), run.get("started")),
                     (run.get("model", ""), None), (run.get("dataset_label") or "-", None),
                     (run.get("status", ""), None), (str(run.get("epochs", 0)), run.get("epochs")),
                     (_pct(val), val), (_pct(acc), acc),
                     ("-" if dur is None else f"{dur:.0f} s", dur)]
            for c, (text, value) in enumerate(cells):
                item = _SortItem(text)
                if value is not None:
                    item.setData(Qt.ItemDataRole.UserRole, value)
                if c == 0:
                    item.setData(PathRole, run.get("path"))
                    notes = f"\n\n{run['notes']}" if run.get("notes") else ""
                    item.setToolTip((run.get("error") or run.get("path", "")) + notes)
                if c == COLUMN_DATASET and run.get("dataset_path"):
                    item.setToolTip(f"{text}\n{run['dataset_path']}")
                table.setItem(r, c, item)
        table.setSortingEnabled(True)
        # Every row that was selected stays selected (selectRow() would clear the others:
        # two runs compared side by side came back as one, the wrong one).
        self._select_rows([r for r in range(table.rowCount())
                           if any(same_path(table.item(r, 0).data(PathRole), p) for p in selected)])
        table.blockSignals(False)
        if self._want and self._select(self._want):
            self._want = None
        self.hint.setVisible(not self.runs)
        self._fill_filters()
        self._update_compare()

    # -- filters and the right-click menu -------------------------------------------------
    def _fill_filters(self) -> None:
        for key, combo in self.filters.items():
            field = "dataset_label" if key == "dataset" else key
            current = combo.currentData()
            values = sorted({str(r.get(field) or "-") for r in self.runs})
            combo.blockSignals(True)
            while combo.count() > 1:
                combo.removeItem(1)
            for v in values:
                combo.addItem(v, v)
            i = combo.findData(current)
            combo.setCurrentIndex(max(i, 0))
            combo.blockSignals(False)
        self._apply_filters()

    @Slot()
    def _apply_filters(self) -> None:
        wanted = {k: c.currentData() for k, c in self.filters.items()}
        by_path = {r.get("path"): r for r in self.runs}
        for row in range(self.table.rowCount()):
            run = by_path.get(self.table.item(row, 0).data(PathRole), {})
            shown = all(v == ALL or str(run.get("dataset_label" if k == "dataset" else k) or "-") == v
                        for k, v in wanted.items())
            self.table.setRowHidden(row, not shown)

    def visible_paths(self) -> list[str]:
        return [self.table.item(r, 0).data(PathRole) for r in range(self.table.rowCount())
                if not self.table.isRowHidden(r)]

    def _path_at(self, pos) -> str | None:
        item = self.table.itemAt(pos)
        return self.table.item(item.row(), 0).data(PathRole) if item is not None else None

    def run_edited(self, path: str) -> None:
        """A run's name or notes changed: list again (keeps the selection)."""
        self.refresh()

    def run_deleted(self, path: str) -> None:
        self.runDeleted.emit(path)
        self.refresh()

    @Slot()
    def _on_selection(self) -> None:
        paths = self.selected_paths()
        self._update_compare()
        if len(paths) == 1:
            self.runActivated.emit(paths[0])

    def _update_compare(self) -> None:
        paths = self.selected_paths()
        by_path = {r.get("path"): r for r in self.runs}
        curves = []
        for p in paths:
            run = by_path.get(p)
            if run and run.get("curve"):
                values = [v if isinstance(v, (int, float)) else float("nan") for v in run["curve"]]
                curves.append({"label": f"{run.get('model', '')} · {run.get('name', '')}"[:40],
                               "values": values})
        self.compare.set_runs(curves)


def short_name(name: str) -> str:
    """``20261122-192856_cnn`` -> ``11-22 19:28:56`` (the model has its own column)."""
    m = re.match(r"^\d{4}(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)_", name)
    return f"{m[1]}-{m[2]} {m[3]}:{m[4]}:{m[5]}" if m else name


def _pct(value) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{value:.1%}"


