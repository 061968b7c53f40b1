"""The Dataset panel's up-front image check: opening a folder decodes every file once in
the background (the core's parallel reader, filling the store) and reports the files that
indexing cannot see as bad, with the same reasons as ``python -m training inspect``."""

from tests.imagegen import make_class_folder
from tests.workbench.panels import wait_idle, panel_fixture


panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700), show=True)


def _hostile_folder(tmp_path):
    root = make_class_folder(tmp_path / "data", classes=("cat", "dog"), per_class=8)
    import io

    import numpy as np
    from PIL import Image

    good = next((root / "cat").glob("*.png")).read_bytes()
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(buf, "JPEG")
    (root / "cat" / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "dog" / "notes.jpg").write_text("shopping list: eggs, milk\n")
    assert good  # the class folders still hold real images
    return root


def test_the_panel_reports_undecodable_files_once_the_check_ends(qtbot, panel, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    root = _hostile_folder(tmp_path)
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert panel.open_path(str(root))
    wait_idle(qtbot, panel, timeout=60000)
    index = panel.state.dataset
    bad = {b.path: b.reason for b in index.bad_files}
    names = {p.rsplit("/", 1)[-1] for p in bad}
    assert names == {"truncated.jpg", "empty.png", "notes.jpg"}
    assert panel.bad_badge.text() == "3 bad files"
    assert panel.bad_model.rowCount() == 3

    # The same reasons as inspect (which runs the core's verify_images on a fresh index).
    from training.data import open_dataset, verify_images

    fresh = open_dataset(str(root))
    assert {b.path: b.reason for b in verify_images(fresh)} == bad
    assert bad[str(root / "dog" / "empty.png")] == "empty file (0 bytes)"
    assert "text" in bad[str(root / "dog" / "notes.jpg")]

    # Class counts leave them out: 8 usable images per class, not 9 and 10.
    table = panel.class_table
    assert [int(table.item(r, 4).text()) for r in range(2)] == [8, 8]
    counts = index.counts()
    assert sum(sum(c.values()) for c in counts.values()) == 16

    # The preview of the text file shows the reason, never raw exception text.
    row = index.paths.index(str(root / "dog" / "notes.jpg"))
    model_row = next(i for i in range(panel.thumbs.rowCount()) if panel.thumbs.sample_row(i) == row)
    panel.grid.setCurrentIndex(panel.thumbs.index(model_row, 0))
    qtbot.waitUntil(lambda: "Cannot show this file" in panel.preview.image.text(), timeout=20000)
    text = panel.preview.image.text()
    assert "text" in text and "Error" not in text and "Unidentified" not in text
