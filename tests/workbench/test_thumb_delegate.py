"""The Dataset grid's delegate: what a tile shows, painted by real Qt (offscreen)."""
from PySide6.QtCore import QItemSelectionModel, QPoint, QRect
from PySide6.QtGui import QColor, QPalette

from tests.workbench.panels import panel_fixture
from tests.workbench.test_thumbnails import _array_index, _grid
from workbench.itemmodels.thumbnails import ThumbnailModel
from workbench.widgets import thumb_delegate
from workbench.widgets.thumb_delegate import MARGIN, ThumbnailDelegate


def _painted(qtbot, marker=None):
    model = ThumbnailModel()
    model.set_index(_array_index(40))
    if marker is not None:
        model.set_marker(marker)
    view = _grid(qtbot, model)
    view.setItemDelegate(ThumbnailDelegate(view))
    view.selectionModel().select(model.index(1, 0), QItemSelectionModel.SelectionFlag.Select)
    view.viewport().repaint()
    return model, view, view.viewport().grab().toImage()


def _colours(image, rect: QRect) -> set:
    return {image.pixel(x, y) for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)}


def test_a_tile_shows_its_thumbnail_caption_and_selection(qtbot):
    model, view, image = _painted(qtbot)
    rect = view.visualRect(model.index(0, 0))
    pix = model.data(model.index(0, 0), thumb_delegate._DECORATION).toImage()
    x0 = rect.x() + (rect.width() - pix.width()) // 2
    y0 = rect.y() + MARGIN
    # The thumbnail itself, pixel for pixel, centred at the top of its tile.
    for x, y in ((0, 0), (10, 30), (44, 44), (87, 87)):
        assert image.pixel(x0 + x, y0 + y) == pix.pixel(x, y), (x, y)
    # A caption under it (the name, drawn in the text colour).
    caption = QRect(rect.x(), y0 + pix.height() + MARGIN, rect.width(),
                    rect.bottom() - y0 - pix.height() - MARGIN)
    text = view.palette().color(QPalette.ColorRole.Text).rgb()
    assert text in _colours(image, caption)
    # The selected tile is highlighted (its margin), the one beside it is not.
    chosen = view.visualRect(model.index(1, 0))
    highlight = view.palette().color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight)
    highlight_active = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    corner = image.pixelColor(chosen.topLeft() + QPoint(1, 1))
    assert corner in (highlight, highlight_active)
    assert image.pixelColor(rect.topLeft() + QPoint(1, 1)) not in (highlight, highlight_active)
    model.shutdown()


def test_an_excluded_tile_has_a_grey_caption(qtbot):
    model, view, image = _painted(qtbot, marker=lambda path: "excluded" if path.endswith("#0") else "")
    rect = view.visualRect(model.index(0, 0))
    top = rect.y() + MARGIN + 88 + MARGIN
    caption = _colours(image, QRect(rect.x(), top, rect.width(), rect.bottom() - top))
    assert QColor(140, 140, 140).rgb() in caption   # the model's grey, not the text colour
    assert view.palette().color(QPalette.ColorRole.Text).rgb() not in caption
    model.shutdown()


panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700))


def test_the_dataset_grid_paints_with_it(panel):
    assert isinstance(panel.grid.itemDelegate(), ThumbnailDelegate)
