"""Right-click on a thumbnail or a gallery image: "Open containing folder" and "Copy path"
(issue 11.7)."""
import os

from PySide6.QtWidgets import QApplication

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_panel, wait_idle
from workbench.widgets import path_menu
from workbench.widgets.image_gallery import ImageGallery


def _menu_at(view, index_rect):
    view.customContextMenuRequested.emit(index_rect.center())
    return {a.text(): a for a in path_menu.shown_path_menu(view).actions() if a.text()}


def test_thumbnail_grid_menu(qtbot, tmp_path, monkeypatch):
    from workbench.panels.dataset import DatasetPanel

    panel = make_panel(qtbot, DatasetPanel, size=(1100, 700), show=True)
    try:
        root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=3, size=8)
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            panel.open_path(str(root))
        wait_idle(qtbot, panel)
        grid = panel.grid
        index = grid.model().index(0, 0)
        actions = _menu_at(grid, grid.visualRect(index))
        opened = []
        monkeypatch.setattr(path_menu.QDesktopServices, "openUrl",
                            staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
        actions["Copy path"].trigger()
        copied = QApplication.clipboard().text()
        assert os.path.isfile(copied) and copied.startswith(str(root))
        actions["Open containing folder"].trigger()
        assert opened == [os.path.dirname(copied)]
    finally:
        panel.shutdown()


def test_gallery_menu(qtbot, tmp_path):
    img = make_class_folder(tmp_path / "d", classes=("a", "b"), per_class=1, size=8)
    path = str(next((img / "a").iterdir()))
    gallery = ImageGallery()
    qtbot.addWidget(gallery)
    gallery.resize(400, 300)
    gallery.show()
    gallery.set_items([{"path": path, "true": "a", "pred": "a", "prob": 0.9, "correct": True}])
    rect = gallery.list.visualItemRect(gallery.list.item(0))
    _menu_at(gallery.list, rect)["Copy path"].trigger()
    assert QApplication.clipboard().text() == path
    qtbot.waitUntil(lambda: not gallery.pending_work(), timeout=20000)
    gallery.shutdown()
