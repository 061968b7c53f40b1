"""Results details (issue 11.9): tooltips on every model and training setting, a sortable
per-class table, the compare chart's y-axis fits the data."""
import pytest

from tests.workbench.panels import make_panel


@pytest.fixture
def model_panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    from workbench.panels.model import ModelPanel

    p = make_panel(qtbot, ModelPanel, size=(1100, 700), show=True)
    yield p
    p.shutdown()


def test_every_setting_has_a_tooltip(model_panel):
    from workbench.widgets.setting_tips import settings_without_tips

    assert settings_without_tips(model_panel) == []
    assert "typical" in model_panel.training_form.lr.toolTip().lower()
    editor = model_panel.layers.param_editor("filters")
    if editor is not None:
        assert editor.toolTip()


def test_compare_chart_y_axis_fits_the_curves(qtbot):
    from workbench.charts.run_compare import RunCompareChart

    chart = RunCompareChart()
    qtbot.addWidget(chart)
    chart.resize(400, 250)
    chart.set_runs([{"label": "a", "values": [0.95, 0.96, 0.97]},
                    {"label": "b", "values": [0.951, 0.955, 0.958]}])
    chart.draw()
    low, high = chart.ax.get_ylim()
    assert 0.9 <= low < 0.95 and 0.97 < high <= 1.0
    assert high - low < 0.1   # curves at 95-97% are told apart, not flattened on 0-1
    chart.shutdown()
