"""The app's file dialogs and drops offer exactly what the core reads: the image
extensions of ``training.data.decode`` and the label tables of ``training.data.csvsource``
(a ``.tsv`` opened from the Dataset panel indexes like a CSV)."""
from __future__ import annotations

import re

from tests.imagegen import make_tsv_dataset
from tests.workbench.panels import make_panel, wait_idle


def _patterns(file_filter: str) -> list[str]:
    """The extensions of a dialog filter's first entry: ``"Images (*.jpg *.png);;…"``."""
    first = file_filter.split(";;")[0]
    return re.findall(r"\*(\.[\w.]+)", first)


def test_classify_open_photos_offers_every_image_extension_the_core_reads(qtbot, monkeypatch):
    from training.data.formats import IMAGE_EXTS
    from workbench.panels import classify

    asked = []
    monkeypatch.setattr(classify.QFileDialog, "getOpenFileNames",
                        staticmethod(lambda *a, **k: asked.append(a) or ([], "")))
    panel = make_panel(qtbot, classify.ClassifyPanel)
    try:
        panel.open_photos()
        offered = _patterns(asked[0][3])
        assert sorted(offered) == sorted(IMAGE_EXTS)
        assert {".jpe", ".jfif", ".dib", ".avif"} <= set(offered)
    finally:
        panel.shutdown()


def test_open_csv_offers_the_label_tables_the_core_reads(qtbot, monkeypatch, tmp_path):
    from training.data.csvsource import EXPLICIT_TABLE_EXTS, LABEL_TABLE_EXTS
    from PySide6.QtWidgets import QFileDialog

    from training.data.kinds import OPEN_BY_KEY
    from workbench.panels import dataset

    offered = _patterns(OPEN_BY_KEY["csv"].file_filter)
    assert offered == list(EXPLICIT_TABLE_EXTS) and set(LABEL_TABLE_EXTS) <= set(offered)
    tsv = make_tsv_dataset(tmp_path / "pets")
    monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tsv), "")))
    panel = make_panel(qtbot, dataset.DatasetPanel, size=(1100, 700))
    try:
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            panel.open_dialog("csv")
        wait_idle(qtbot, panel, 20000)
        assert panel.state.dataset.kind == "csv"
        assert panel.state.dataset.classes == ["big, cat", "small, dog"]
        with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
            assert panel.open_path(str(tsv))   # a recent file or a drop: kind auto
        wait_idle(qtbot, panel, 20000)
        assert panel.state.dataset.kind == "csv" and len(panel.state.dataset) == 12
    finally:
        panel.shutdown()
