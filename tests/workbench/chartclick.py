"""Clicking a chart where a data point is, the way a user does (a real Qt mouse event)."""
from PySide6.QtCore import QPoint, Qt


def click_data_point(qtbot, chart, x: float, y: float) -> None:
    """Left-click the widget position of data point (x, y) of ``chart.ax``.

    Call ``chart.draw()`` first: the position comes from the drawn axes' transform.
    """
    dx, dy = chart.ax.transData.transform((x, y))
    ratio = chart.devicePixelRatioF() or 1.0
    height = chart.figure.bbox.height       # display coordinates have y up
    pos = QPoint(round(dx / ratio), round((height - dy) / ratio))
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=pos)
