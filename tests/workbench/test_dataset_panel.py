"""The Dataset panel with real files: indexing in a worker, counts, thumbnails decoded
off the GUI thread, filters, bad files, array sources."""
import pytest
from PySide6.QtGui import QPixmap

from tests.imagegen import make_class_folder, make_idx_dataset
from tests.workbench.panels import panel_fixture
from workbench.itemmodels.thumbnails import LabelRole, SplitRole, ThumbnailRole


panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700), show=True)


def _open(qtbot, panel, path):
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert panel.open_path(str(path))
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)


def test_open_class_folder_shows_counts_and_thumbnails(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("cat", "dog", "fox"), per_class=10)
    _open(qtbot, panel, root)
    index = panel.state.dataset
    assert index.classes == ["cat", "dog", "fox"]
    table = panel.class_table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == ["cat", "dog", "fox"]
    assert [int(table.item(r, 4).text()) for r in range(3)] == [10, 10, 10]
    assert "30 images" in panel.info_label.text()
    chart = panel.chart
    chart.draw()   # draw_idle gives no guarantee; draw explicitly
    assert chart.ax.get_xlabel() == "Class" and chart.ax.get_ylabel() == "Images"
    assert [t.get_text() for t in chart.ax.get_xticklabels()] == ["cat", "dog", "fox"]
    heights = sorted(round(p.get_height()) for p in chart.ax.patches)
    counts = index.counts()
    assert heights == sorted(counts[s][c] for s in ("train", "validation", "test")
                             for c in index.classes if sum(counts[s].values()) > 0)
    model = panel.thumbs
    assert model.rowCount() == 30
    first = model.index(0, 0)
    # Not decoded yet -> None; the decode happens in the pool, then dataChanged.
    model.data(first, ThumbnailRole)
    qtbot.waitUntil(lambda: isinstance(model.data(first, ThumbnailRole), QPixmap), timeout=10000)
    pix = model.data(first, ThumbnailRole)
    assert not pix.isNull() and pix.width() > 16
    img = pix.toImage()
    # The tile holds the real (scaled-up) image, not a blank placeholder.
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 5
    # The preview shows the first sample with its size and label.
    qtbot.waitUntil(lambda: "16 × 16" in panel.preview.info.text(), timeout=10000)
    assert "cat" in panel.preview.info.text()


def test_filter_by_class_and_split(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("a", "b", "c"), per_class=10)
    _open(qtbot, panel, root)
    model = panel.thumbs
    panel.set_filter("b")
    assert model.rowCount() == 10
    assert {model.data(model.index(r, 0), LabelRole) for r in range(10)} == {"b"}
    panel.set_filter("b", "train")
    n = model.rowCount()
    counts = panel.state.dataset.counts()
    assert n == counts["train"]["b"] and 0 < n < 10
    assert {model.data(model.index(r, 0), SplitRole) for r in range(n)} == {"train"}
    assert f"{n} of 30" in panel.shown_label.text()
    panel.set_filter(None, None)
    assert model.rowCount() == 30


def test_bad_files_are_counted_and_listed(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=8)
    (root / "a" / "notes.txt").write_text("not an image")
    (root / "b" / "labels.doc").write_bytes(b"\x00\x01")
    _open(qtbot, panel, root)
    n_bad = len(panel.state.dataset.bad_files)
    assert n_bad >= 2
    assert panel.bad_badge.text() == f"{n_bad} bad files"
    assert panel.bad_model.rowCount() == n_bad
    files = {panel.bad_model.data(panel.bad_model.index(r, 0)) for r in range(n_bad)}
    assert any(f.endswith("notes.txt") for f in files)
    reasons = [panel.bad_model.data(panel.bad_model.index(r, 1)) for r in range(n_bad)]
    assert all(reasons)
    assert panel.state.dataset.counts()["train"]["a"] > 0  # the good files are still used
    # Every run's end asks again (runsUpdated): the same rows are not reset (a re-layout).
    resets = []
    panel.bad_model.modelReset.connect(lambda: resets.append(1))
    panel.state.runsUpdated.emit()
    assert not resets and panel.bad_model.rowCount() == n_bad


def test_idx_arrays_render_directly(qtbot, panel, tmp_path):
    root = make_idx_dataset(tmp_path / "idx", n_train=40, n_test=20, size=8, classes=4)
    _open(qtbot, panel, root)
    assert panel.state.dataset.arrays is not None
    model = panel.thumbs
    pix = model.data(model.index(0, 0), ThumbnailRole)
    assert isinstance(pix, QPixmap) and not pix.isNull()
    assert panel.state.dataset.has_source_split
    assert not panel.split_settings.val.isEnabled()


def test_resplit_changes_split(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=20)
    _open(qtbot, panel, root)
    before = panel.state.dataset.counts()["test"]
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        panel.split_settings.test.setValue(0.3)
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    after = panel.state.dataset.counts()["test"]
    assert sum(after.values()) > sum(before.values())
    assert panel.state.dataset_spec.test_fraction == pytest.approx(0.3)


def test_not_a_dataset_shows_error_and_stays_usable(qtbot, panel, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    panel.open_path(str(empty))
    qtbot.waitUntil(lambda: panel.error_label.isVisible(), timeout=20000)
    assert "empty" in panel.error_label.text() or "class" in panel.error_label.text().lower()
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=10000)
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=5)
    _open(qtbot, panel, root)
    assert not panel.error_label.isVisible()


def test_csv_dataset_and_column_dialog(qtbot, panel, tmp_path):
    from tests.imagegen import make_csv_dataset
    from training.data.csvsource import read_header
    from workbench.widgets.dataset_views import CsvColumnsDialog

    csv_path = make_csv_dataset(tmp_path / "cactus", n=20)
    _open(qtbot, panel, csv_path)   # two columns: no question asked
    assert panel.state.dataset.kind == "csv"
    assert sorted(panel.state.dataset.classes) == ["0", "1"]
    wide = tmp_path / "wide.csv"
    wide.write_text("row,file_name,source,category\n1,a.png,x,cat\n", encoding="utf-8")
    columns = read_header(str(wide))
    assert columns == ["row", "file_name", "source", "category"]
    dialog = CsvColumnsDialog(str(wide), columns)
    dialog.id_column.setCurrentText("file_name")
    assert dialog.values() == {"id_column": "file_name", "label_column": "category",
                               "images_dir": None}
    dialog.deleteLater()


def test_cancel_indexing_keeps_previous_state(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=30)
    changed = []
    panel.state.datasetChanged.connect(lambda: changed.append(1))
    panel.open_path(str(root))
    panel.cancel()
    assert not panel.progress_row.isVisible()
    qtbot.waitUntil(lambda: not panel._index.busy() and not panel._check.busy(), timeout=20000)
    assert changed == [] and panel.state.dataset is None


def test_undecodable_file_is_added_to_the_report(qtbot, panel, tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("a", "b"), per_class=4)
    (root / "a" / "a_000_truncated.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _open(qtbot, panel, root)
    model = panel.thumbs
    for r in range(model.rowCount()):
        model.data(model.index(r, 0), ThumbnailRole)
    qtbot.waitUntil(lambda: any(
        panel.bad_model.data(panel.bad_model.index(r, 0)).endswith("a_000_truncated.png")
        for r in range(panel.bad_model.rowCount())), timeout=10000)
    n = panel.bad_model.rowCount()
    assert panel.bad_badge.text().startswith(f"{n} bad file")
