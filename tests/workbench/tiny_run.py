"""One tiny real run shared by the Results and Classify panel tests (trained once per
process: 3 classes x 14 images of 16x16, 2 epochs, a few seconds on 2 cores), in a child
process: the GUI tests' process, like the app's, never imports TensorFlow.

After training, the run is evaluated on a *confused* copy of the dataset in which the
``cat`` and ``dog`` folders hold each other's pattern, so ``evaluation.json`` has wrong
predictions for the most-incorrect gallery, and ``fox`` stays right.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.imagegen import make_class_folder

# The session's runs root (tests/conftest.py), read at import: a test that points
# WORKBENCH_RUNS_DIR elsewhere must not decide where the shared run lives for later tests.
SESSION_RUNS_ROOT = os.environ.get("WORKBENCH_RUNS_DIR")

_cache: dict = {}


def tiny_run() -> dict:
    """``{"run_dir", "data", "confused"}``: paths of the shared run and its datasets."""
    if not _cache:
        from tests.childcall import call_in_child

        _cache.update(call_in_child("tests.workbench.tiny_run:build", SESSION_RUNS_ROOT))
    return _cache


def build(runs_root: str | None) -> dict:
    """Train and evaluate the tiny run (in the child process: see :func:`tiny_run`)."""
    from training.data import open_dataset
    from training.inference.evaluate import evaluate
    from training.models import template
    from training.fit.train import TrainConfig, train

    root = Path(tempfile.mkdtemp(prefix="wb-tiny-run-"))
    data = make_class_folder(root / "data", per_class=14)
    # Folder names sort to cat, dog, fox either way; pattern k goes to the k-th name given.
    confused = make_class_folder(root / "confused", classes=("dog", "cat", "fox"), per_class=14,
                                 seed=5)
    spec = template("cnn", input_size=(16, 16), color_mode="rgb")
    summary = train(open_dataset(str(data)), spec,
                    TrainConfig(epochs=2, batch_size=8, learning_rate=3e-3), None,
                    run_dir=session_run_dir("cnn", runs_root))  # the runs root, so the runs lists show it
    evaluate(summary.run_dir, dataset=str(confused))
    return {"run_dir": summary.run_dir, "data": str(data), "confused": str(confused)}


def session_run_dir(model: str, root: str | None = None) -> str:
    """A new run folder under the session's runs root (whatever WORKBENCH_RUNS_DIR is now)."""
    from training.runs.runfolder import new_run_dir

    return str(new_run_dir(model, root=root or SESSION_RUNS_ROOT))
