"""The Label next chart: estimated accuracy per number of labels, axes labelled, an empty
state that says what to do, and the held-back count beside the last point with the range
its sampling noise allows."""
from workbench.charts.active_curve import ActiveCurveChart


def test_active_curve_plots_one_point_per_round_with_labelled_axes(qtbot):
    chart = ActiveCurveChart()
    qtbot.addWidget(chart)
    chart.draw()
    assert any("label a few images of every class" in t.get_text() for t in chart.ax.texts)
    chart.add_point({"labels": 20, "trained_on": 17, "held_back": 3, "accuracy": 0.66})
    chart.add_point({"labels": 40, "trained_on": 34, "held_back": 6, "accuracy": None})
    chart.add_point({"labels": 60, "trained_on": 51, "held_back": 9, "accuracy": 0.78})
    chart.draw()
    line = chart.ax.lines[0]
    assert list(line.get_xdata()) == [20, 60] and list(line.get_ydata()) == [0.66, 0.78]
    assert chart.ax.get_xlabel() == "Labels given" and chart.ax.get_ylabel() == "Estimated accuracy"
    # With the 90 % range that 9 held-back labels allow (a shaded band under the line).
    assert any(t.get_text() == "78% (51-92%) on 9 held-back" for t in chart.ax.texts)
    assert len(chart.ax.collections) == 1
    chart.set_points([])
    chart.draw()
    assert not chart.ax.lines
