"""The map's plot widget alone (real pyqtgraph, offscreen): the view shows every point from
the start, while the points are still being added piece by piece, and the legend folds into
columns when one column would cover the plot."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor


def test_view_fits_every_point_and_legend_folds(qtbot):
    from workbench.widgets.map_view import CHUNK, MapView

    view = MapView()
    qtbot.addWidget(view)
    view.resize(700, 260)
    view.show()
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(3 * CHUNK, 2)) * [40, 3] + [100, -7]
    xy[0] = [-500, 90]                         # far outliers must be in view too
    xy[1] = [900, -60]
    view.set_map(xy, ("x", "y"))
    legend = [(f"class {i}", QColor.fromHsv(36 * i, 200, 200)) for i in range(10)]
    view.set_colors(np.arange(len(xy)) % 10, legend)
    assert view.drawing()                      # still adding pieces
    (x0, x1), (y0, y1) = view.box.viewRange()
    assert x0 <= -500 and x1 >= 900 and y0 <= -60 and y1 >= 90
    qtbot.waitUntil(lambda: not view.drawing(), timeout=10000)
    assert view.drawn_points() == len(xy)
    assert view.legend.columnCount >= 2        # 10 rows in 260 px: folded
    view.resize(700, 1000)
    qtbot.waitUntil(lambda: view.legend.columnCount == 1, timeout=2000)
    view.box.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
    view.reset_view()
    (x0, x1), _ = view.box.viewRange()
    assert x0 <= -500 and x1 >= 900
