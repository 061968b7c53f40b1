"""The label overlay: fixes stored beside the dataset, applied by open_dataset, files untouched."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import stat

import numpy as np
import pytest

from tests.imagegen import make_class_folder
from training.data import open_dataset
from training.data.overlay import (
    OVERLAY_DIR,
    OVERLAY_FILE,
    LabelOverlay,
    OverlayError,
    fallback_path,
    load_overlay,
)
from training.data.overlay_apply import changed_rows, export_csv


def file_hashes(root) -> dict:
    out = {}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != OVERLAY_DIR]
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[p] = hashlib.sha256(fh.read()).hexdigest()
    return out


def test_relabel_exclude_restore_persist_and_apply(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=6, size=8)
    before = file_hashes(root)
    index = open_dataset(str(root))
    n, classes = len(index), index.classes
    cat0, cat1, dog0 = index.paths[0], index.paths[1], index.paths[6]

    ov = load_overlay(index.root)
    assert len(ov) == 0
    ov.relabel(cat0, "dog")
    ov.exclude(cat1)
    ov.relabel(dog0, "dog", original="dog")  # a no-op relabel stores nothing
    saved = ov.save()
    assert saved == os.path.join(str(root), OVERLAY_DIR, OVERLAY_FILE)
    with open(saved) as fh:
        data = json.load(fh)
    assert data["schema_version"] == 2 and data["labels"] == {"cat/cat_000.png": "dog"}

    again = open_dataset(str(root))  # "after a restart": a fresh open reads the file
    assert len(again) == n - 1 and cat1 not in again.paths
    assert again.labels[again.paths.index(cat0)] == classes.index("dog")
    assert list(changed_rows(again)) == [again.paths.index(cat0)]
    assert again.overlay["applied_relabels"] == 1 and again.overlay["excluded_paths"] == [cat1]
    assert not any(b.path.endswith(OVERLAY_DIR) for b in again.bad_files)  # not a "hidden folder"
    raw = open_dataset(str(root), overlay=False)
    assert len(raw) == n and raw.labels[0] == classes.index("cat")

    ov2 = load_overlay(index.root)
    prev = ov2.state(cat0)
    ov2.restore(cat0)
    ov2.restore(cat1)
    ov2.save()
    assert len(open_dataset(str(root))) == n
    ov2.set_state(cat0, *prev)  # undo of the restore
    ov2.save()
    assert open_dataset(str(root)).labels[0] == classes.index("dog")
    assert file_hashes(root) == before  # the user's images are byte-identical


def test_export_csv_and_unknown_class(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=4, size=8)
    ov = LabelOverlay(root=str(root))
    ov.labels["cat/cat_000.png"] = "zebra"  # unknown: ignored with a warning
    ov.labels["cat/cat_001.png"] = "fox"
    ov.save()
    index = open_dataset(str(root))
    assert any("zebra" in w for w in index.warnings)
    out = tmp_path / "labels.csv"
    assert export_csv(index, str(out)) == len(index)
    with open(out) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["path", "label"]
    assert [r[1] for r in rows if r[0].endswith("cat_001.png")] == ["fox"]


def test_read_only_dataset_uses_app_data_folder(tmp_path, monkeypatch):
    from training.data import overlay

    root = make_class_folder(tmp_path / "ro", per_class=4, size=8)
    os.chmod(root, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(root, os.W_OK):  # root ignores mode bits: make the probe see it read-only
            monkeypatch.setattr(overlay, "folder_writable", lambda folder: False)
        ov = load_overlay(str(root))
        ov.exclude(os.path.join(str(root), "cat", "cat_000.png"))
        assert ov.save() == fallback_path(str(root))
        assert not (root / OVERLAY_DIR / OVERLAY_FILE).exists()
        assert len(open_dataset(str(root))) == 11
    finally:
        os.chmod(root, stat.S_IRWXU)


def test_newer_or_damaged_overlay_is_refused_not_guessed(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=4, size=8)
    (root / OVERLAY_DIR).mkdir()
    (root / OVERLAY_DIR / OVERLAY_FILE).write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(OverlayError, match="newer"):
        load_overlay(str(root))
    index = open_dataset(str(root))  # the dataset still opens, with a warning
    assert len(index) == 12 and any("overlay not applied" in w for w in index.warnings)


def test_array_source_overlay(tmp_path):
    x = np.random.default_rng(0).integers(0, 255, (20, 8, 8), dtype=np.uint8)
    y = np.repeat([0, 1], 10)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    index = open_dataset(str(tmp_path / "d.npz"))
    ov = load_overlay(index.root)
    ov.exclude(index.paths[3])
    ov.save()
    again = open_dataset(str(tmp_path / "d.npz"))
    assert len(again) == 19 and again.arrays.shape[0] == 19


def test_set_fixes_updates_an_open_index_as_reopening_would(tmp_path):
    from training.data.overlay_apply import set_fixes

    root = make_class_folder(tmp_path / "data", per_class=4, size=8)
    index = open_dataset(str(root))
    ov = load_overlay(index.root)
    cat0, cat1 = index.paths[0], index.paths[1]
    assert set_fixes(index, ov, [cat0], [("dog", False)]) is False
    assert index.labels[0] == index.classes.index("dog")
    assert set_fixes(index, ov, [cat1, cat0], [(None, True), ("nope", False)]) is True
    assert index.labels[0] == index.classes.index("cat")   # an unknown class: the source's
    again = open_dataset(str(root))
    keys = ("relabelled", "excluded", "applied_relabels", "applied_exclusions", "path")
    assert [index.overlay[k] for k in keys] == [again.overlay[k] for k in keys]
    assert index.overlay["applied_exclusions"] == 1 and index.overlay["path"]
