"""One real run for the "unknown" tests (core and GUI), trained once per process (in a
child process, so the GUI tests' process never imports TensorFlow):
scikit-learn's digits written out as 16x16 images (1,200 of them), a small CNN, 3 epochs,
plus scikit-image's bundled photos to show it (``bench.trustdata``)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from tests.workbench.tiny_run import session_run_dir

_cache: dict = {}


def digits_run() -> dict:
    """``{"run_dir", "data", "photos": [paths], "test_images": [paths of its test split]}``."""
    if not _cache:
        from tests.childcall import call_in_child
        from tests.workbench.tiny_run import SESSION_RUNS_ROOT

        _cache.update(call_in_child("tests.trustrun:build", SESSION_RUNS_ROOT))
    return _cache


def build(runs_root: str | None) -> dict:
    """Train the digits run (in the child process: see :func:`digits_run`)."""
    from bench.trustdata import write_digits, write_photos
    from tests.training.trainutil import tiny_spec
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec
    from training.fit.train import train

    root = Path(tempfile.mkdtemp(prefix="wb-digits-run-"))
    data = write_digits(root / "digits", per_class=120)
    photos = [str(p) for p in write_photos(root / "photos")]
    summary = train(DatasetSpec(str(data)), tiny_spec("cnn", size=16, color="grayscale"),
                    TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3),
                    run_dir=session_run_dir("cnn", runs_root))  # the runs root: the GUI's run pickers list it
    with open(os.path.join(summary.run_dir, "evaluation.json"), encoding="utf-8") as f:
        evaluation = json.load(f)
    return {"run_dir": summary.run_dir, "data": str(data), "photos": photos,
            "test_images": [p["path"] for p in evaluation["predictions"]], "evaluation": evaluation}
