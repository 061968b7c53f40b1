"""Charts: artists hold the data they were given, empty states carry a hint, clicks map
to confusion-matrix cells."""
import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from workbench.charts.confusion import ConfusionChart
from workbench.charts.probabilities import ProbabilityChart
from workbench.charts.run_compare import RunCompareChart
from workbench.charts.training_curves import TrainingCurves


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_training_curves_one_point_per_epoch_and_best_marker(qtbot):
    chart = TrainingCurves("accuracy")
    qtbot.addWidget(chart)
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
    # A click on the centre of cell (true=2, pred=0) in display coordinates.
    x, y = chart.ax.transData.transform((0, 2))
    event = MouseEvent("button_press_event", chart, x, y, button=1)
    with qtbot.waitSignal(chart.cellClicked, timeout=1000) as blocker:
        chart.on_press(event)
    assert blocker.args == [2, 0]
    with pytest.raises(ValueError, match="Received: shape"):
        chart.set_matrix([[1, 2]], ["a", "b"])


def test_probability_chart_bars_and_empty_state(qtbot):
    chart = ProbabilityChart()
    qtbot.addWidget(chart)
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
    assert any("Select runs" in t for t in _texts(chart.figure))
