"""Charts: artists hold the data they were given, empty states carry a hint, clicks map
to confusion-matrix cells, and figures are drawn off the GUI thread, coalesced."""
import threading

import numpy as np
import pytest
from PySide6.QtGui import QColor

from tests.workbench.chartclick import click_data_point

from workbench.charts.confusion import ConfusionChart
from workbench.charts.probabilities import ProbabilityChart
from workbench.charts.run_compare import RunCompareChart
from workbench.charts.training_curves import TrainingCurves


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_training_curves_one_point_per_epoch_and_best_marker(qtbot):
    chart = TrainingCurves("accuracy")
    qtbot.addWidget(chart)
    chart.draw()
    assert any("Start training" in t for t in _texts(chart.figure))
    chart.add_epoch({"epoch": 1, "accuracy": 0.5, "val_accuracy": 0.4, "best": True})
    chart.add_epoch({"epoch": 2, "accuracy": 0.7, "val_accuracy": 0.6, "best": True})
    chart.add_epoch({"epoch": 3, "accuracy": 0.8, "val_accuracy": 0.55, "best": False})
    chart.draw()
    assert list(chart.train_line.get_xdata()) == [1, 2, 3]
    assert list(chart.train_line.get_ydata()) == [0.5, 0.7, 0.8]
    assert list(chart.val_line.get_ydata()) == [0.4, 0.6, 0.55]
    assert list(chart.best_marker.get_xdata()) == [2]
    assert chart.ax.get_xlabel() == "Epoch" and chart.ax.get_ylabel() == "Accuracy"
    labels = [t.get_text() for t in chart.ax.get_legend().get_texts()]
    assert "training" in labels and "validation" in labels
    assert not any("Start training" in t for t in _texts(chart.figure))


def test_training_curves_history_without_best_flags_marks_lowest_val_loss(qtbot):
    chart = TrainingCurves("loss")
    qtbot.addWidget(chart)
    chart.set_history([{"epoch": 1, "loss": 2.3, "val_loss": 0.9},
                       {"epoch": 2, "loss": 0.8, "val_loss": 0.7},
                       {"epoch": 3, "loss": 0.6, "val_loss": 0.75}])
    chart.draw()
    assert chart.best_epoch == 2
    lo, hi = chart.ax.get_ylim()
    assert lo == 0 and hi >= 2.3  # autoscaled to the data, not the empty chart's 0..1
    chart.add_epoch({"epoch": 4, "loss": 3.5, "val_loss": 0.5, "best": True})
    chart.draw()
    assert chart.ax.get_ylim()[1] >= 3.5 and chart.best_epoch == 4
    with pytest.raises(ValueError, match="Received: metric='f1'"):
        TrainingCurves("f1")


def test_confusion_chart_annotations_and_click(qtbot):
    chart = ConfusionChart()
    qtbot.addWidget(chart)
    chart.resize(500, 400)
    m = [[3, 1, 0], [0, 4, 0], [2, 0, 5]]
    chart.set_matrix(m, ["cat", "dog", "fox"])
    chart.draw()
    assert [int(t.get_text()) for t in chart.texts] == [3, 1, 0, 0, 4, 0, 2, 0, 5]
    assert chart.ax.get_xlabel() == "Predicted class" and chart.ax.get_ylabel() == "True class"
    # A real click on the centre of cell (true=2, pred=0), and one outside the matrix.
    with qtbot.waitSignal(chart.cellClicked, timeout=1000) as blocker:
        click_data_point(qtbot, chart, 0, 2)
    assert blocker.args == [2, 0]
    with qtbot.assertNotEmitted(chart.cellClicked):
        click_data_point(qtbot, chart, 3.5, 3.5)
    with pytest.raises(ValueError, match="Received: shape"):
        chart.set_matrix([[1, 2]], ["a", "b"])


def test_probability_chart_bars_and_empty_state(qtbot):
    chart = ProbabilityChart()
    qtbot.addWidget(chart)
    chart.draw()
    assert any("Select an image" in t for t in _texts(chart.figure))
    chart.set_probabilities(["a", "b", "c"], [0.2, 0.7, 0.1], true_index=0)
    chart.draw()
    heights = [b.get_width() for b in chart.bars]
    assert heights == sorted(heights, reverse=True) and np.isclose(sum(heights), 1.0)
    assert [t.get_text() for t in chart.ax.get_yticklabels()] == ["b", "a", "c"]
    assert chart.ax.get_xlabel() == "Probability"


def test_run_compare_overlays_one_line_per_run(qtbot):
    chart = RunCompareChart()
    qtbot.addWidget(chart)
    chart.set_runs([{"label": "mlp", "values": [0.5, 0.6]}, {"label": "cnn", "values": [0.7]}])
    chart.draw()
    assert [list(line.get_ydata()) for line in chart.lines] == [[0.5, 0.6], [0.7]]
    chart.set_runs([])
    chart.draw()
    assert any("Select runs" in t for t in _texts(chart.figure))


class _ThreadRecordingCurves(TrainingCurves):
    """Records the thread each build ran on (the real build, nothing replaced)."""

    def __init__(self, *args, **kwargs):
        self.build_threads = []
        super().__init__(*args, **kwargs)

    def build(self, state):
        # build() gets a stand-in for the widget (workbench/charts/base.py), so the base
        # class's build is called by name, not through super().
        self.build_threads.append(threading.get_ident())
        return TrainingCurves.build(self, state)


def test_shown_chart_is_drawn_off_the_gui_thread_and_coalesced(qtbot):
    chart = _ThreadRecordingCurves("accuracy")
    qtbot.addWidget(chart)
    chart.resize(400, 280)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    assert chart.grab().toImage().size().width() == 400
    renders = []
    chart.rendered.connect(lambda: renders.append(len(chart.epochs)))
    for epoch in range(1, 6):   # faster than a render: coalesced, not queued one by one
        chart.add_epoch({"epoch": epoch, "accuracy": epoch / 10, "val_accuracy": epoch / 11})
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    assert renders and renders[-1] == 5 and len(renders) <= 2
    gui = threading.get_ident()
    assert chart.build_threads[1:] and gui not in chart.build_threads[1:]
    # What is on screen is the figure with five points: blue line pixels are there.
    image = chart.grab().toImage()
    blue = QColor("#1f77b4")   # matplotlib's tab:blue
    found = any(_close(image.pixelColor(x, y), blue)
                for x in range(0, image.width(), 2) for y in range(0, image.height(), 2))
    assert found, "the rendered image shows no training line"
    assert list(chart.train_line.get_xdata()) == [1, 2, 3, 4, 5]


def test_a_hidden_chart_draws_nothing_until_it_is_shown(qtbot):
    """A chart on a hidden page (Results' charts while the user is on another panel) is
    given its data but not drawn: a render costs a pool thread 100-500 ms of CPU. It is
    drawn when its page is shown, with the data it has then."""
    from PySide6.QtWidgets import QLabel, QStackedWidget

    stack = QStackedWidget()
    qtbot.addWidget(stack)
    stack.addWidget(QLabel("another panel"))
    chart = _ThreadRecordingCurves("accuracy")
    stack.addWidget(chart)
    stack.resize(400, 280)
    stack.show()
    renders = []
    chart.rendered.connect(lambda: renders.append(len(chart.epochs)))
    for epoch in range(1, 4):
        chart.add_epoch({"epoch": epoch, "accuracy": epoch / 10, "val_accuracy": epoch / 11})
    qtbot.wait(400)
    assert chart.build_threads == [] and renders == [] and not chart.render_pending()
    stack.setCurrentWidget(chart)
    qtbot.waitUntil(lambda: renders == [3], timeout=10_000)
    assert len(chart.build_threads) == 1 and not chart.render_pending()


def test_resized_chart_is_redrawn_at_its_new_size(qtbot):
    chart = ConfusionChart()
    qtbot.addWidget(chart)
    chart.set_matrix([[5, 1], [2, 7]], ["cat", "dog"])
    chart.resize(420, 360)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    chart.resize(520, 300)
    ratio = chart.devicePixelRatioF() or 1
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    assert chart._shown[1:3] == (round(520 * ratio), round(300 * ratio))
    # Clicks map through the new geometry.
    chart.draw()
    with qtbot.waitSignal(chart.cellClicked, timeout=1000) as blocker:
        click_data_point(qtbot, chart, 1, 0)
    assert blocker.args == [0, 1]


def test_a_chart_shown_at_another_pixel_ratio_is_drawn_again_at_the_widgets(qtbot):
    """A window moved to a screen with another pixel ratio repaints; the chart then draws
    again at the new ratio. (The offscreen platform cannot change a screen's ratio, so the
    shown image is made to carry another one.)"""
    chart = ConfusionChart()
    qtbot.addWidget(chart)
    chart.set_matrix([[5, 1], [2, 7]], ["cat", "dog"])
    chart.resize(420, 360)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending() and chart._image is not None, timeout=10_000)
    ratio = float(chart.devicePixelRatioF() or 1.0)
    stale = ratio * 2
    chart._image.setDevicePixelRatio(stale)
    chart._shown = chart._shown[:3] + (stale,)
    chart.repaint()
    qtbot.waitUntil(lambda: not chart.render_pending() and chart._shown[3] == ratio, timeout=10_000)
    assert chart._image.devicePixelRatio() == ratio


def _close(a, b, tol=40):
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < tol


class _BrokenChart(TrainingCurves):
    def __init__(self):
        self.attempts = []   # appended to by build(), which gets a stand-in for self
        super().__init__("loss")

    def build(self, state):
        if state["epochs"]:
            self.attempts.append(1)
            raise ValueError("no axes for you")
        return TrainingCurves.build(self, state)


def test_a_chart_that_fails_to_draw_says_why_once_and_the_app_goes_on(qtbot, caplog):
    chart = _BrokenChart()
    qtbot.addWidget(chart)
    chart.resize(300, 200)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    chart.add_epoch({"epoch": 1, "loss": 1.0})
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    qtbot.wait(200)   # a retry loop would show up here as more attempts
    assert len(chart.attempts) == 1
    assert "no axes for you" in chart._error
    assert "could not be drawn" in caplog.text   # logged (to the log file in the app)
    chart.grab()      # paints the message instead of crashing


def test_diverging_loss_with_inf_and_nan_still_draws(qtbot):
    chart = TrainingCurves("loss")
    qtbot.addWidget(chart)
    chart.add_epoch({"epoch": 1, "loss": 2.0, "val_loss": 1.5})
    chart.add_epoch({"epoch": 2, "loss": float("inf"), "val_loss": float("nan")})
    chart.draw()
    assert list(chart.train_line.get_xdata()) == [1, 2]
    lo, hi = chart.ax.get_ylim()
    assert lo == 0 and np.isfinite(hi) and hi >= 2.0


def test_mouse_and_keys_on_a_chart_while_it_redraws_do_not_touch_the_figure(qtbot):
    # matplotlib's Qt handlers would hit-test the figure on the GUI thread while the
    # render thread rebuilds it; the chart hands these events to QWidget instead.
    from PySide6.QtCore import QPoint, Qt

    chart = TrainingCurves("accuracy")
    qtbot.addWidget(chart)
    chart.resize(400, 280)
    chart.show()
    seen = []
    chart.mpl_connect("button_press_event", lambda e: seen.append(e))
    chart.mpl_connect("motion_notify_event", lambda e: seen.append(e))
    for epoch in range(1, 4):
        chart.add_epoch({"epoch": epoch, "accuracy": 0.5, "val_accuracy": 0.4})
        qtbot.mouseMove(chart, QPoint(200, 140))
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=QPoint(150 + epoch, 100))
        qtbot.keyClick(chart, Qt.Key.Key_G)
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    assert seen == []


def test_shutdown_waits_for_a_render_in_flight_and_late_results_are_dropped(qtbot):
    chart = ConfusionChart()
    qtbot.addWidget(chart)
    chart.resize(420, 360)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    m = np.arange(100).reshape(10, 10)
    chart.set_matrix(m, [f"class {i}" for i in range(10)])   # ~0.5 s to draw
    assert chart.render_pending()
    chart.shutdown()                      # waits for the render thread to end
    assert not chart._runner.busy()
    qtbot.wait(100)                       # its queued result, if any, is dropped
    # The next draw shows the new matrix.
    chart.draw()
    assert [int(t.get_text()) for t in chart.texts[:3]] == [0, 1, 2]


def test_changes_made_in_one_pass_of_the_event_loop_make_one_render(qtbot):
    """An epoch changes the chart once per metric, and a run's end several charts: the
    render starts on the next pass, once, not in the caller's pass (BENCHMARKS 14)."""
    chart = TrainingCurves("accuracy")
    qtbot.addWidget(chart)
    chart.resize(400, 280)
    chart.show()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    renders = []
    chart.rendered.connect(lambda: renders.append(len(chart.epochs)))
    chart.add_epoch({"epoch": 1, "accuracy": 0.1, "val_accuracy": 0.1})
    assert not chart._runner.busy(), "the render started in the caller's pass"
    chart.add_epoch({"epoch": 2, "accuracy": 0.2, "val_accuracy": 0.2})
    assert chart.render_pending()
    qtbot.waitUntil(lambda: not chart.render_pending(), timeout=10_000)
    assert renders == [2]


def test_a_render_arrives_premultiplied_in_the_painters_own_format(qtbot):
    """Converted once on the pool, not at every paint; the colours are the figure's."""
    from PySide6.QtGui import QImage

    from workbench.charts.base import premultiplied_argb32

    chart = TrainingCurves("accuracy")
    qtbot.addWidget(chart)
    chart.resize(400, 280)
    chart.show()
    chart.add_epoch({"epoch": 1, "accuracy": 0.5, "val_accuracy": 0.4})
    chart.add_epoch({"epoch": 2, "accuracy": 0.7, "val_accuracy": 0.6})
    qtbot.waitUntil(lambda: not chart.render_pending() and chart._image is not None, timeout=10_000)
    assert chart._image.format() == QImage.Format.Format_ARGB32_Premultiplied
    image = chart.grab().toImage()
    blue = QColor("#1f77b4")
    assert any(_close(image.pixelColor(x, y), blue, tol=6)
               for x in range(image.width()) for y in range(image.height()))
    # A half-transparent red pixel: premultiplied, in Qt's ARGB32 word order.
    rgba = np.array([[[255, 0, 0, 128], [10, 20, 30, 255]]], dtype=np.uint8)
    img = QImage(premultiplied_argb32(rgba).data, 2, 1, 8, QImage.Format.Format_ARGB32_Premultiplied)
    assert (img.pixelColor(0, 0).red(), img.pixelColor(0, 0).alpha()) == (255, 128)
    assert img.pixelColor(1, 0).getRgb() == (10, 20, 30, 255)
