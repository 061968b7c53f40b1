"""Results details (issue 11.9): tooltips on every model and training setting, a sortable
per-class table, the compare chart's y-axis fits the data."""

from tests.workbench.panels import panel_fixture


model_panel = panel_fixture("model_panel", "workbench.panels.model.ModelPanel", size=(1100, 700),
                            show=True, own_settings=True)


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


def test_per_class_table_sorts_and_keeps_averages_last(qtbot, results_panel):
    from PySide6.QtCore import Qt

    from tests.workbench.tiny_run import tiny_run

    p = results_panel
    p.state.set_run(tiny_run()["run_dir"])
    qtbot.waitUntil(lambda: p.per_class.rowCount() >= 3, timeout=60000)
    qtbot.waitUntil(lambda: not p.pending_work(), timeout=60000)
    t = p.per_class
    n = t.rowCount()
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        t.sortItems(2, order)   # recall
        names = [t.item(r, 0).text() for r in range(n)]
        classes = [r for r in range(n) if "average" not in t.item(r, 0).text()]
        recalls = [float(t.item(r, 2).text()) for r in classes]
        assert recalls == sorted(recalls, reverse=order == Qt.SortOrder.DescendingOrder)
        assert all("average" in x for x in names[len(classes):])   # averages at the bottom
    assert t.isSortingEnabled()


def test_clicked_cell_is_highlighted_and_its_gallery_sorted_by_confidence(qtbot, results_panel):
    from tests.workbench.tiny_run import tiny_run

    p = results_panel
    p.state.set_run(tiny_run()["run_dir"])
    qtbot.waitUntil(lambda: p.evaluation is not None, timeout=60000)
    qtbot.waitUntil(lambda: not p.pending_work(), timeout=60000)
    m = p.evaluation["confusion_matrix"]
    t, q = max(((i, j) for i in range(len(m)) for j in range(len(m))), key=lambda c: m[c[0]][c[1]])
    p.show_cell(t, q)
    p.confusion.draw()
    patch = p.confusion.highlight_patch
    assert patch is not None and patch.get_xy() == (q - 0.5, t - 0.5)
    probs = [i["prob"] for i in p.gallery.items]
    assert len(probs) == m[t][q] or len(probs) > 1
    assert probs == sorted(probs, reverse=True)
    qtbot.waitUntil(lambda: not p.pending_work(), timeout=60000)
