"""One tiny real run shared by the Results and Classify panel tests (trained once per
test session by a training process: 3 classes x 14 images of 16x16, 2 epochs, a few
seconds on 2 cores).

After training, the run is evaluated on a *confused* copy of the dataset in which the
``cat`` and ``dog`` folders hold each other's pattern, so ``evaluation.json`` has wrong
predictions for the most-incorrect gallery, and ``fox`` stays right.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.imagegen import make_class_folder

# The session's runs root (tests/conftest.py), read at import: a test that points
# WORKBENCH_RUNS_DIR elsewhere must not decide where the shared run lives for later tests.
SESSION_RUNS_ROOT = os.environ.get("WORKBENCH_RUNS_DIR")

_cache: dict = {}


def tiny_run() -> dict:
    """``{"run_dir", "data", "confused"}``: paths of the shared run and its datasets.

    Trained and evaluated by ``python -m training`` processes, as the app trains: the
    test process itself needs no TensorFlow for it."""
    if _cache:
        return _cache
    from training.models import template
    from training.recipe.config import TrainConfig

    root = Path(tempfile.mkdtemp(prefix="wb-tiny-run-"))
    data = make_class_folder(root / "data", per_class=14)
    # Folder names sort to cat, dog, fox either way; pattern k goes to the k-th name given.
    confused = make_class_folder(root / "confused", classes=("dog", "cat", "fox"), per_class=14,
                                 seed=5)
    spec, config = root / "spec.json", root / "config.json"
    spec.write_text(template("cnn", input_size=(16, 16), color_mode="rgb").to_json(), encoding="utf-8")
    config.write_text(json.dumps(TrainConfig(epochs=2, batch_size=8, learning_rate=3e-3).to_dict()),
                      encoding="utf-8")
    run_dir = session_run_dir("cnn")  # the runs root, so the runs lists show it
    _cli("train", data, "--spec", spec, "--config", config, "--out", run_dir)
    _cli("evaluate", run_dir, confused)
    _cache.update(run_dir=run_dir, data=str(data), confused=str(confused))
    return _cache


def _cli(*argv) -> None:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=root, CUDA_VISIBLE_DEVICES="-1")
    proc = subprocess.run([sys.executable, "-m", "training", *map(str, argv)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"python -m training {argv[0]} failed:\n{proc.stderr[-3000:]}"


def session_run_dir(model: str) -> str:
    """A new run folder under the session's runs root (whatever WORKBENCH_RUNS_DIR is now)."""
    from training.runs.runfolder import new_run_dir

    return str(new_run_dir(model, root=SESSION_RUNS_ROOT))
