"""Predictor on a real saved run: top-k, bad files, direct calls, unsafe models, CSV export."""
import csv
from pathlib import Path

import numpy as np
import pytest

from tests.imagegen import class_image, write_image
from training.runs import runfolder
from training.csvcells import escape_cell
from training.inference.predict import Predictor, write_csv
from training.runs.runfolder import UnsafeModelError, load_model_file


def test_predict_paths_top_k_folders_and_bad_files(mlp_run, tmp_path):
    summary, data, _ = mlp_run
    p = Predictor(summary.run_dir)
    assert p.classes == ["cat", "dog", "fox"]
    assert p.input_size == (16, 16) and p.color_mode == "rgb"

    folder = tmp_path / "photos"
    rng = np.random.default_rng(5)
    for label, name in enumerate(p.classes):
        write_image(folder / f"{name}_ünïcode.png", class_image(label, 32, rng))  # resized to 16x16
    (folder / "notes.txt").write_text("not an image")          # skipped by folder expansion
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    missing = tmp_path / "missing.png"

    results = p.predict_paths([folder, missing], top_k=2)
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in results}
    assert set(by_name) == {"broken.jpg", "cat_ünïcode.png", "dog_ünïcode.png", "fox_ünïcode.png",
                            "missing.png"}
    assert by_name["broken.jpg"]["error"]
    assert by_name["broken.jpg"]["probabilities"] is None and by_name["broken.jpg"]["top_k"] == []
    assert by_name["missing.png"]["error"]
    for name in p.classes:
        r = by_name[f"{name}_ünïcode.png"]
        assert r["error"] is None and len(r["top_k"]) == 2
        assert r["top_k"][0][0] == name  # the learnable pattern is recognised
        assert r["top_k"][0][1] >= r["top_k"][1][1]
        assert sum(r["probabilities"]) == pytest.approx(1.0, abs=1e-5)


def test_predict_array_matches_model_predict_and_accepts_other_sizes(mlp_run):
    summary, _, _ = mlp_run
    p = Predictor(summary.run_dir, which="final")
    img = class_image(1, 16, np.random.default_rng(9))
    direct = p.predict_array(img)
    reference = p.trust.calibrate(p.model.predict(img[None].astype("float32"), verbose=0))[0]
    assert direct == pytest.approx(reference, abs=1e-5)
    assert int(np.argmax(direct)) == 1
    big_gray = class_image(1, 48, np.random.default_rng(9), channels=1)[:, :, 0]
    assert p.predict_array(big_gray).shape == (3,)
    with pytest.raises(ValueError, match="dtype=float64"):
        p.predict_array(img.astype(float))


def test_unsafe_model_is_refused_and_its_code_never_runs(tmp_path):
    import keras

    marker = tmp_path / "marker.txt"
    # The function writes the marker when called; it is called once while building, so
    # the marker is removed before loading, and loading must not recreate it.
    code = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2)(keras.layers.Lambda(eval(code))(inputs))
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink()

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model_best.keras").write_bytes(path.read_bytes())
    for target in (path, run_dir):
        with pytest.raises(UnsafeModelError) as info:
            Predictor(target)
        message = str(info.value)
        assert "Refused to load" in message and "Lambda" in message and "safe mode" in message
        assert not marker.exists()
    assert isinstance(info.value, ValueError)


def test_missing_or_damaged_model_files_give_run_errors(tmp_path):
    with pytest.raises(runfolder.RunError, match="no saved model"):
        Predictor(tmp_path)
    bad = tmp_path / "model_best.keras"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(runfolder.RunError, match="Could not load the model"):
        load_model_file(bad)


def test_csv_export_escapes_formulas(tmp_path):
    results = [
        {"path": "=cmd|' /C calc'!A0.png", "top_k": [["+cat", 0.9], ["dog", 0.1]], "error": None},
        {"path": "@sum.png", "top_k": [["-1", 0.6], ["\tx", 0.4]], "error": None},
        {"path": "bad.jpg", "top_k": [], "error": "=not an image"},
        {"path": "fine ünïcode.png", "top_k": [["dog", 0.7], ["cat", 0.3]], "error": None},
    ]
    out = tmp_path / "out.csv"
    write_csv(results, out)
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["path", "class_1", "probability_1", "class_2", "probability_2", "unknown",
                       "unknown_reason", "error"]
    assert rows[1][:3] == ["'=cmd|' /C calc'!A0.png", "'+cat", "0.900000"]
    assert rows[2][0] == "'@sum.png" and rows[2][1] == "'-1" and rows[2][3] == "'\tx"
    assert rows[3] == ["bad.jpg", "", "", "", "", "", "", "'=not an image"]
    assert rows[1][5:7] == ["no", ""]
    assert rows[4][0] == "fine ünïcode.png"
    for cell in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert escape_cell(cell).startswith("'")
    assert escape_cell("cat") == "cat" and escape_cell(None) == ""


def test_predict_uses_the_model_the_run_evaluated_when_best_differs(mlp_run, tmp_path):
    """With ``restore_best=False`` a run ends with (and evaluates, calibrates and fits its
    unknown rule on) its final model, while model_best.keras holds another epoch: the
    Predictor's default must be the final model, or predict disagrees with evaluation."""
    import shutil

    from training.inference.predict import Predictor
    from training.runs.runfolder import RunFolder, load_model_file

    summary, data, _ = mlp_run
    run = tmp_path / "run"
    shutil.copytree(summary.run_dir, run)
    folder = RunFolder(run)
    other = load_model_file(folder.model_final)
    other.set_weights([w * 0.5 for w in other.get_weights()])   # a different "best epoch"
    other.save(folder.model_best)
    images = sorted(str(p) for p in Path(data).rglob("*.png"))[:6]
    default = Predictor(run)
    assert Path(default.model_path) == folder.model_final
    final_probs = default.predict_paths(images)
    best = Predictor(run, which="best")
    assert Path(best.model_path) == folder.model_best
    assert final_probs != best.predict_paths(images)
