"""The Dataset panel opens ``labels.csv`` + ``images/``, and asks for the images folder
whenever none is found, whatever the CSV's column count (issue 11.1)."""
import shutil


from tests.training.data.test_csv_folders import _layout
from tests.workbench.panels import wait_idle, panel_fixture


panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700), show=True)


def test_labels_csv_with_images_folder_opens(qtbot, panel, tmp_path):
    csv = _layout(tmp_path / "ds", "images")
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert panel.open_path(str(csv))
    wait_idle(qtbot, panel)
    assert panel.state.dataset.kind == "csv" and len(panel.state.dataset) == 12


def test_missing_images_folder_asks_for_it(qtbot, panel, tmp_path):
    csv = _layout(tmp_path / "ds", "images")
    moved = tmp_path / "far" / "away"
    shutil.move(str(tmp_path / "ds" / "images"), str(moved))
    assert panel.open_path(str(csv))   # two columns: asked anyway, once no folder is found
    qtbot.waitUntil(lambda: panel.csv_dialog is not None and panel.csv_dialog.isVisible(),
                    timeout=20000)
    assert "Folders tried" in panel.csv_dialog.message.text()
    panel.csv_dialog.images_dir.setText(str(moved))
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        panel.csv_dialog.accept()
    wait_idle(qtbot, panel)
    assert len(panel.state.dataset) == 12 and not panel.error_label.isVisible()
