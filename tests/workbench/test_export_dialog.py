"""The "Export model…" dialog on a real tiny run: export, parity table, replace, cancel."""
import json
import os


from tests.workbench.panels import make_panel, make_window, panel_fixture, wait_idle
from tests.workbench.tiny_run import tiny_run


panel = panel_fixture("panel", "workbench.panels.results.ResultsPanel", size=(1300, 800))


def test_export_dialog_exports_shows_parity_refuses_to_overwrite_and_cancels(qtbot, panel, tmp_path):
    run = tiny_run()
    assert not panel.export_button.isEnabled()  # no run shown yet
    panel.state.set_run(run["run_dir"])
    wait_idle(qtbot, panel)
    assert panel.export_button.isEnabled()
    dialog = panel.open_export_dialog()
    assert dialog.destination.text() == os.path.join(run["run_dir"], "exports")
    dialog.format_boxes["saved_model"].setChecked(False)
    dialog.format_boxes["tflite"].setChecked(False)
    assert not dialog.quantize.isEnabled()  # quantization is for TFLite only
    out = tmp_path / "out"
    dialog.destination.setText(str(out))
    assert dialog.start()
    assert dialog.cancel_button.isEnabled() and not dialog.export_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=180_000)
    assert dialog.table.rowCount() == 1, dialog.status.text()
    cells = [dialog.table.item(0, c).text() for c in range(dialog.table.columnCount())]
    assert cells[0] == "ONNX" and cells[1] == "model.onnx" and cells[-1] == "passed"
    assert float(cells[3]) <= 1e-4 and cells[5].endswith("%")
    assert dialog.open_button.isEnabled()
    # The model, its signature, and the files the signature names for the unknown rule.
    files = json.loads((out / "signature.json").read_text(encoding="utf-8"))["unknown"]["files"]
    named = {files["rule"], files["reference"], *files["features"].values()}
    assert set(os.listdir(out)) == {"model.onnx", "signature.json"} | named
    assert files["features"] == {"onnx": "features.onnx"}

    # The destination now exists: declining the replacement writes nothing.
    before = os.path.getmtime(out / "model.onnx")
    assert not dialog.start(confirm_replace=False)
    assert "already exists" in dialog.status.text()
    assert os.path.getmtime(out / "model.onnx") == before

    # Cancel right away: nothing is written, the dialog says so.
    dialog.destination.setText(str(tmp_path / "cancelled"))
    dialog.format_boxes["saved_model"].setChecked(True)
    assert dialog.start()
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=120_000)
    assert "cancelled" in dialog.status.text()
    assert not (tmp_path / "cancelled").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    dialog.reject()


def test_classify_panel_classifies_with_an_exported_onnx_file(qtbot, tmp_path):
    import numpy as np

    from tests.childcall import call_in_child
    from tests.imagegen import class_image, write_image
    from workbench.panels.classify import ClassifyPanel

    run = tiny_run()
    photo = write_image(tmp_path / "fox.png", class_image(2, 24))
    # The export and the Keras model's own answer for the photo come from one child process.
    made = call_in_child("tests.workbench.tfhelpers:export_and_predict", run["run_dir"], "onnx",
                         str(tmp_path / "exp"), str(photo))
    (onnx,), expected = made["paths"], made["expected"]
    panel = make_panel(qtbot, ClassifyPanel, size=(1100, 700))
    try:
        wait_idle(qtbot, panel)
        panel.choose_model_file(onnx)
        assert panel.current_run() == onnx and "exported" in panel.run_combo.currentText()
        panel.classify([str(photo)])
        wait_idle(qtbot, panel)
        (row,) = panel.results
        np.testing.assert_allclose(row["probabilities"], expected["probabilities"], atol=1e-5)
        panel.refresh_runs()  # re-listing the runs keeps the chosen file
        wait_idle(qtbot, panel)
        assert panel.run_combo.findData(onnx) >= 0
    finally:
        panel.shutdown()


def test_file_menu_export_model_needs_a_run_then_opens_the_dialog(qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QAction

    w = make_window(qtbot, tmp_path, monkeypatch, show=False)
    try:
        (action,) = [a for a in w.findChildren(QAction) if a.text() == "&Export model…"]
        w.state.set_run(None)
        action.trigger()
        assert "open or train a run first" in w.statusBar().currentMessage()
        w.state.set_run(tiny_run()["run_dir"])
        dialog = w.export_model()
        assert dialog is not None and dialog.isVisible() and dialog.run_dir == tiny_run()["run_dir"]
        dialog.reject()
    finally:
        w.close()
