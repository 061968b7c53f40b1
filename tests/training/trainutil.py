"""Helpers shared by the training/evaluation/prediction/CLI tests (not a test module)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training.events import StopFlagEvents


class Recorder(StopFlagEvents):
    """Events that remember every call, and can stop itself on a condition.

    Args:
        stop_when: ``stop_when(kind, payload) -> bool``, checked on every on_batch /
            on_epoch / on_status; the first True calls ``stop()`` and records the time.
    """

    def __init__(self, stop_when=None):
        super().__init__()
        self.batches, self.epochs, self.statuses, self.progress = [], [], [], []
        self.stop_when = stop_when
        self.stop_time = None

    def _check(self, kind, payload):
        if self.stop_when is not None and self.stop_time is None and self.stop_when(kind, payload):
            self.stop_time = time.perf_counter()
            self.stop()

    def on_batch(self, info):
        self.batches.append(dict(info))
        self._check("batch", info)

    def on_epoch(self, info):
        self.epochs.append(dict(info))
        self._check("epoch", info)

    def on_status(self, message):
        self.statuses.append(message)
        self._check("status", message)

    def on_progress(self, done, total, what):
        self.progress.append((done, total, what))


def tiny_spec(kind: str = "mlp", size: int = 16, color: str = "rgb", **options):
    from training.models import template

    if kind == "mlp":
        options.setdefault("units", 32)
    if kind == "cnn":
        options.setdefault("filters", 8)
        options.setdefault("dense_units", 32)
        options.setdefault("dropout", 0.0)
    return template(kind, input_size=(size, size), color_mode=color, **options)


def tiny_transfer_spec(**options):
    """MobileNetV2 (alpha 0.35, random weights) at 32x32: the smallest real backbone."""
    from training.models import template

    return template("mobilenet_v2", input_size=(32, 32), color_mode="rgb", weights="random",
                    alpha=0.35, **options)


def read(run_dir, name):
    return json.loads((Path(run_dir) / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory):
    """One complete 3-class MLP run shared by the train, predict and CLI tests.

    Returns:
        ``(summary, data_dir, events)``.
    """
    from tests.imagegen import make_class_folder
    from training.recipe.config import TrainConfig
    from training.data import DatasetSpec
    from training.fit.train import train

    root = tmp_path_factory.mktemp("mlp_run")
    data = make_class_folder(root / "data", per_class=30)
    events = Recorder()
    summary = train(DatasetSpec(str(data)), tiny_spec("mlp"), TrainConfig(epochs=4, batch_size=16),
                    events, run_dir=str(root / "run"))
    return summary, data, events

@pytest.fixture(scope="session")
def transfer_run(tmp_path_factory):
    """One MobileNetV2 transfer run (alpha 0.35, random weights, 32x32, 16 images a class)
    shared by the transfer-learning test, which checks its phases and its stop, and the
    export test, which only reads it: each MobileNetV2 training traces the backbone's
    training step, ~37 CPU-s on 2 cores, and the export test paid one of its own.

    A frozen base's head is trained for one epoch on precomputed features, fine-tuned from
    layer 140 for up to two more epochs, and stopped during the second of those.

    Returns:
        ``{"summary", "run_dir", "data", "events", "snapshot" (model_last.keras as it was
        after epoch 1), "stop_latency" (s from the stop request to train()'s return)}``.
    """
    import shutil

    from tests.imagegen import make_class_folder
    from training.fit.train import train
    from training.recipe.config import TrainConfig
    from training.runs import runfolder

    root = tmp_path_factory.mktemp("transfer_run")
    data = make_class_folder(root / "data", per_class=16, size=32)
    run_dir = root / "run"
    snapshot = root / "after_epoch_1.keras"

    class Events(Recorder):
        def on_epoch(self, info):
            super().on_epoch(info)
            if info["epoch"] == 1:  # model_last.keras now holds the head-phase model
                shutil.copyfile(run_dir / runfolder.MODEL_LAST, snapshot)

    # Stop during the second fine-tune epoch (epoch 3 of 1 + 2).
    events = Events(stop_when=lambda kind, p: kind == "batch" and p["phase"] == "fine_tune"
                    and p["epoch"] == 3)
    config = TrainConfig(epochs=1, batch_size=8, fine_tune_epochs=2, fine_tune_lr=1e-4)
    summary = train(str(data), tiny_transfer_spec(fine_tune_from=140), config, events,
                    run_dir=str(run_dir))
    stop_latency = None if events.stop_time is None else time.perf_counter() - events.stop_time
    return {"summary": summary, "run_dir": run_dir, "data": data, "events": events,
            "snapshot": snapshot, "stop_latency": stop_latency}


ROOT = Path(__file__).resolve().parents[2]


def kill_cli_training_after_first_checkpoint(data, run_dir, epochs, *extra_args) -> int:
    """``python -m training train`` (mlp) in a subprocess, SIGKILLed once epoch 1 is
    checkpointed. Returns the checkpoint's epoch."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "training", "train", str(data), "--model", "mlp",
                             "--epochs", str(epochs), "--batch-size", "2", "--no-early-stopping",
                             *extra_args, "--out", str(run_dir)],
                            cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                checkpoint = json.loads((run_dir / "run.json").read_text()).get("checkpoint")
            except (OSError, ValueError):
                checkpoint = None
            if checkpoint and checkpoint["epoch"] >= 1:
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    return json.loads((run_dir / "run.json").read_text())["checkpoint"]["epoch"]


def run_cli(capsys, *argv):
    """Run ``python -m training`` in-process: ``(exit code, the last stdout line as JSON
    or None, stderr)``."""
    from training.cli.main import main

    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, (json.loads(lines[-1]) if lines else None), captured.err
