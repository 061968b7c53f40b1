"""The "unknown" answer on real photos: a model trained on scikit-learn's digits (written out
as images) is shown scikit-image's bundled photos. At least 80 % must come back unknown,
and at most 5 % of the model's own test images, through the Python API and ``predict --json``.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.training.trainutil import ROOT


@pytest.fixture(scope="module")
def digits_run():
    from tests.trustrun import digits_run as run

    r = run()
    return SimpleNamespace(run_dir=r["run_dir"]), r["data"], r["photos"]


def test_photos_unknown_own_test_images_known(digits_run, tmp_path):
    from training.inference.predict import Predictor, write_csv
    from training.trust.rule import Trust

    summary, _, photos = digits_run
    assert len(photos) >= 15
    run = summary.run_dir
    with open(os.path.join(run, "evaluation.json"), encoding="utf-8") as f:
        evaluation = json.load(f)
    assert evaluation["split"] == "test"
    test_rate = evaluation["unknown"]["unknown_rate"]
    assert test_rate <= 0.05, evaluation["unknown"]
    cal = evaluation["calibration"]
    assert cal["ece_after"] is not None and cal["temperature"] > 0
    trust = Trust.load(run)
    assert trust.rule is not None and trust.reference.shape[0] <= 1000

    results = Predictor(run).predict_paths([str(p) for p in photos])
    rate = np.mean([r["unknown"] for r in results])
    assert rate >= 0.8, [(os.path.basename(r["path"]), r["unknown_reason"]) for r in results]
    assert {r["unknown_reason"] for r in results if r["unknown"]} <= {
        "low confidence", "unlike the training data"}
    out = tmp_path / "pred.csv"
    write_csv(results, out)
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert {"unknown", "unknown_reason"} <= set(rows[0])
    assert sum(r["unknown"] == "yes" for r in rows) == sum(r["unknown"] for r in results)


def test_predict_json_gives_unknown_and_coverage_trades_it(digits_run):
    from training.inference.predict import Predictor

    summary, data, photos = digits_run
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "training", "predict", summary.run_dir,
                           *[str(p) for p in photos], "--json"], check=False, cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])["predictions"]
    assert np.mean([r["unknown"] for r in out]) >= 0.8
    assert all(r["top_k"] and "unknown_reason" in r and r["confidence"] > 0 for r in out)
    # Images of a known class: answering only half of what validation answers turns
    # more of them into "low confidence".
    predictor = Predictor(summary.run_dir)
    known = os.path.join(str(data), "3")
    wide = predictor.predict_paths([known])
    predictor.coverage = 0.5
    narrow = predictor.predict_paths([known])
    def low(rows):
        return sum(r["unknown_reason"] == "low confidence" for r in rows)

    assert low(narrow) > low(wide)
