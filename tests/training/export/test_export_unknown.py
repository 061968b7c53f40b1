"""An exported ONNX model answers "unknown" with the same rule as the app's Predictor:
on scikit-image's photos and on the model's own test images, with and without TensorFlow."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tests.trustrun import digits_run
    from training.export.exporter import export

    run = digits_run()
    out = tmp_path_factory.mktemp("export-unknown") / "export"
    result = export(run["run_dir"], ["onnx", "tflite"], out, which="best")
    return run, result


def test_the_export_carries_the_whole_rule(exported):
    from training.runs.runfolder import UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ

    _, result = exported
    out = result["out_dir"]
    assert sorted(os.listdir(out)) == sorted(["model.onnx", "features.onnx", "model.tflite",
                                              "features.tflite", "signature.json",
                                              UNKNOWN_JSON, UNKNOWN_REFERENCE_NPZ])
    with open(result["signature"], encoding="utf-8") as f:
        unknown = json.load(f)["unknown"]
    assert unknown["files"] == {"rule": UNKNOWN_JSON, "reference": UNKNOWN_REFERENCE_NPZ,
                                "features": {"onnx": "features.onnx",
                                             "tflite": "features.tflite"}}
    assert unknown["distance"]["threshold"] > 0 and unknown["appearance"]["threshold"] > 0
    assert unknown["features_parity"]["onnx"] < 1e-3 and unknown["features_parity"]["tflite"] < 1e-3
    with np.load(os.path.join(out, UNKNOWN_REFERENCE_NPZ)) as npz:
        assert npz["features"].shape[0] <= 1000 and npz["thumb_precision"].shape == (64, 64)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_exported_files_and_the_app_agree_on_unknown(exported, fmt):
    from training.export.predictor import ExportedPredictor
    from training.inference.predict import Predictor

    run, result = exported
    path = next(a["path"] for a in result["artifacts"] if a["format"] == fmt)
    images = run["photos"] + run["test_images"]
    app = Predictor(run["run_dir"], which="best").predict_paths(images)
    predictor = ExportedPredictor(path)
    ex = predictor.predict_paths(images)
    assert [r["unknown_reason"] for r in ex] == [r["unknown_reason"] for r in app]
    for a, e in zip(app, ex):
        np.testing.assert_allclose(e["probabilities"], a["probabilities"], atol=1e-4)
        assert e["distance"] == pytest.approx(a["distance"], abs=1e-4)
        assert e["appearance"] == pytest.approx(a["appearance"], abs=1e-3)
    n = len(run["photos"])
    photos = [r["unknown"] for r in ex[:n]]
    own = [r["unknown"] for r in ex[n:]]
    assert sum(photos) >= 0.8 * n and sum(own) <= 0.05 * len(own)
    # The feature check does work here: some photos are caught by it alone.
    assert any(r["distance"] > predictor.trust.rule.distance_threshold for r in ex[:n])


_NO_TF = """
import json, sys
sys.modules["tensorflow"] = None
sys.modules["keras"] = None
from training.export.predictor import open_predictor
rows = open_predictor(sys.argv[1]).predict_paths(sys.argv[2:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")
                and sys.modules[m] is not None)
print(json.dumps({"reasons": [r["unknown_reason"] for r in rows], "tf": loaded}))
"""


def test_the_rule_runs_without_tensorflow(exported):
    from training.inference.predict import Predictor

    run, result = exported
    onnx = next(a["path"] for a in result["artifacts"] if a["format"] == "onnx")
    images = run["photos"][:8] + run["test_images"][:8]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    proc = subprocess.run([sys.executable, "-c", _NO_TF, onnx, *images], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": root}, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["tf"] == []
    app = Predictor(run["run_dir"], which="best").predict_paths(images)
    assert report["reasons"] == [r["unknown_reason"] for r in app]
    assert any(report["reasons"][:8])
