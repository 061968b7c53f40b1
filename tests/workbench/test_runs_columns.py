"""The runs list keeps the run's name readable at 1024 and 1280 px wide when a dataset's
label is long; the dataset is elided instead, in full in its tooltip (issue 22 item 5)."""
import json
import shutil

import pytest

from tests.workbench.panels import make_window, wait_idle
from tests.workbench.tiny_run import tiny_run

LONG = "handwritten_digits_in_class_folders_with_five_percent_label_noise_copy"


@pytest.mark.parametrize("size", [(1024, 640), (1280, 800)])
def test_run_column_is_not_elided_by_a_long_dataset_label(qtbot, tmp_path, monkeypatch, size):
    from workbench.panels.results_runs import COLUMN_DATASET

    window = make_window(qtbot, tmp_path, monkeypatch, own_runs=True, size=size)
    run = shutil.copytree(tiny_run()["run_dir"], tmp_path / "runs" / "20260101-120000_cnn")
    info = json.loads((run / "dataset.json").read_text())
    info["spec"]["path"] = f"/data/{LONG}"
    (run / "dataset.json").write_text(json.dumps(info))
    try:
        window.show_panel("results")
        results = window.panels["results"]
        results.runs.refresh()
        qtbot.waitUntil(lambda: results.runs.table.rowCount() == 1, timeout=30_000)
        wait_idle(qtbot, results)
        table = results.runs.table
        name = table.item(0, 0).text()
        fm = table.fontMetrics()
        assert table.columnWidth(0) >= fm.horizontalAdvance(name), (name, table.columnWidth(0))
        dataset = table.item(0, COLUMN_DATASET)
        assert LONG in dataset.text() and LONG in dataset.toolTip()
        # The table fits its view: no column is pushed out of sight by the long label.
        assert table.horizontalHeader().length() <= table.viewport().width() + 1
    finally:
        window.shutdown()
