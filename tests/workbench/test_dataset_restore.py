"""Excluded images on the Dataset panel's thumbnail grid: "Changed only" shows them greyed
(also those excluded in an earlier session, which the opened dataset no longer lists), and R
or right-click → Restore brings them back, with undo and redo; the user's files untouched."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.imagegen import make_class_folder
from tests.training.data.test_overlay import file_hashes
from tests.workbench.panels import make_panel, wait_idle
from workbench.itemmodels.thumbnails import PathRole
from workbench.widgets.path_menu import shown_path_menu


def _items(grid) -> list[tuple[str, str, object]]:
    m = grid.model()
    return [(m.index(r, 0).data(PathRole), m.index(r, 0).data(Qt.ItemDataRole.DisplayRole),
             m.index(r, 0).data(Qt.ItemDataRole.ForegroundRole)) for r in range(m.rowCount())]


def test_grid_shows_and_restores_excluded_images_with_undo(qtbot, tmp_path):
    from training.data import open_dataset
    from tests.workbench.panels import load_overlay
    from workbench.panels.dataset import DatasetPanel

    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=4, size=8)
    before = file_hashes(root)
    raw = open_dataset(str(root), overlay=False)
    earlier = raw.paths[5]            # excluded in an earlier session (the CLI, say)
    overlay = load_overlay(raw.root)
    overlay.exclude(earlier)
    overlay.save()

    panel = make_panel(qtbot, DatasetPanel, size=(1100, 700), show=True)
    try:
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            panel.open_path(str(root))
        wait_idle(qtbot, panel)
        grid, fixes = panel.grid, panel.state.label_fixes
        assert grid.model().rowCount() == 7 and earlier not in [p for p, _, _ in _items(grid)]

        panel.changed_filter.setChecked(True)
        [(path, text, colour)] = _items(grid)
        assert path == earlier and text.startswith("excluded") and colour is not None
        assert "restore" in grid.model().index(0, 0).data(Qt.ItemDataRole.ToolTipRole).lower()
        assert grid.model().index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None

        # Keyboard: R restores it; undo and redo replay it.
        grid.setFocus()
        grid.setCurrentIndex(grid.model().index(0, 0))
        QTest.keyClick(grid, Qt.Key.Key_R)
        assert load_overlay(raw.root).state(earlier) == (None, False)
        [(path, text, colour)] = _items(grid)     # still listed, now plain
        assert path == earlier and not text.startswith("excluded") and colour is None
        assert len(open_dataset(str(root))) == 8  # a fresh open (the CLI, training) has it again
        fixes.undo()
        assert load_overlay(raw.root).state(earlier) == (None, True)
        assert _items(grid)[0][1].startswith("excluded")
        fixes.redo()
        assert load_overlay(raw.root).state(earlier) == (None, False)
        fixes.undo()

        # Right-click on the greyed item: Restore original label.
        grid.customContextMenuRequested.emit(grid.visualRect(grid.model().index(0, 0)).center())
        restore = next(a for a in shown_path_menu(grid).actions() if a.text() == "Restore original label")
        assert restore.isEnabled()
        restore.trigger()
        assert load_overlay(raw.root).state(earlier) == (None, False)
        fixes.undo()

        # An exclusion made now greys the item in the full grid and joins the filter.
        panel.changed_filter.setChecked(False)
        grid.setCurrentIndex(grid.model().index(0, 0))
        first = grid.model().index(0, 0).data(PathRole)
        QTest.keyClick(grid, Qt.Key.Key_Delete)
        assert load_overlay(raw.root).state(first) == (None, True)
        assert _items(grid)[0][1].startswith("excluded") and grid.model().rowCount() == 7
        panel.changed_filter.setChecked(True)
        assert sorted(p for p, _, _ in _items(grid)) == sorted([first, earlier])
        assert "2 excluded" in panel.fix_label.text()
        assert file_hashes(root) == before
    finally:
        panel.shutdown()
