"""Training on two logical devices and on a two-worker loopback cluster (issue 15).

Real ``tf.distribute`` in subprocesses (logical devices and a cluster must be set up
before TensorFlow starts): 127.0.0.1, free ports, ``CUDA_VISIBLE_DEVICES=-1``, hard
timeouts, and every worker is killed when a test ends. 8x8 images, a few steps.
"""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.fit.distutil import ROOT, cli_env, cluster, last_json, wait_all
from training.runs import runfolder
from training.runs.runfolder import RunFolder

TRAIN = ["train", None, "--model", "mlp", "--image-size", "8", "--color", "grayscale",
         "--batch-size", "8", "--seed", "3"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_class_folder(tmp_path_factory.mktemp("dist") / "data", per_class=12, size=8)


def _args(data, *more):
    return [str(data) if a is None else a for a in TRAIN] + [str(m) for m in more]


def _weights(path):
    import keras

    return keras.saving.load_model(str(path), compile=False).get_weights()


def test_two_workers_end_with_identical_weights_and_a_complete_run(data, tmp_path):
    run_dir = tmp_path / "run"
    with cluster(_args(data, "--epochs", 2, "--out", run_dir, "--json"), 2, tmp_path) as procs:
        codes = wait_all(procs, timeout=240)
    assert codes == [0, 0], (tmp_path / "worker0.err").read_text()[-3000:]
    chief, other = last_json(tmp_path / "worker0.out"), last_json(tmp_path / "worker1.out")
    assert chief["run_dir"] == str(run_dir) and other["run_dir"] != str(run_dir)
    assert chief["status"] == "complete" and chief["epochs_done"] == 2
    # Same global steps everywhere: the histories and the weights agree.
    assert chief["history"] == other["history"] or all(
        abs(a["loss"] - b["loss"]) < 1e-6 for a, b in zip(chief["history"], other["history"]))
    for a, b in zip(_weights(run_dir / runfolder.MODEL_FINAL),
                    _weights(other["run_dir"] + "/" + runfolder.MODEL_FINAL)):
        np.testing.assert_array_equal(a, b)
    info = RunFolder(run_dir).load()
    assert info["status"] == "complete" and info["test_accuracy"] is not None
    assert info["distribution"]["strategy"] == "multi-worker"
    assert info["distribution"]["workers"] == 2
    assert info["distribution"]["global_batch"] == 16
    for name in (runfolder.SPEC_JSON, runfolder.CONFIG_JSON, runfolder.DATASET_JSON, runfolder.HISTORY_JSON,
                 runfolder.EVALUATION_JSON, runfolder.MODEL_BEST, runfolder.MODEL_LAST):
        assert (run_dir / name).is_file(), name
    assert len(json.loads((run_dir / runfolder.HISTORY_JSON).read_text())) == 2


def _wait_for_checkpoint(run_dir, after: int, procs, tmp_path):
    """Until run.json records a checkpoint after epoch ``after`` (it is written last)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and procs[0].poll() is None:
        try:
            checkpoint = json.loads((run_dir / runfolder.RUN_JSON).read_text()).get("checkpoint")
            if checkpoint and checkpoint["epoch"] > after:
                return checkpoint["epoch"]
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError((tmp_path / "worker0.err").read_text()[-3000:])


def test_stop_request_lost_worker_and_resume(data, tmp_path):
    """The stop request stops both workers; two workers resume it; killing one makes the
    other fail cleanly with a message; the run then resumes on one machine."""
    from training.runs.follow import request_stop

    run_dir = tmp_path / "run"
    history = run_dir / runfolder.HISTORY_JSON
    with cluster(_args(data, "--epochs", 30, "--no-early-stopping", "--out", run_dir), 2,
                 tmp_path) as procs:
        _wait_for_checkpoint(run_dir, 0, procs, tmp_path)
        request_stop(run_dir)   # what the GUI's Stop writes; only the chief polls the file
        assert wait_all(procs, timeout=120) == [0, 0]
    stopped = RunFolder(run_dir).load()
    assert stopped["status"] == "stopped" and 1 <= stopped["epochs_done"] < 30
    with cluster(["train", "--resume", run_dir], 2, tmp_path) as procs:
        _wait_for_checkpoint(run_dir, stopped["epochs_done"], procs, tmp_path)
        procs[1].kill()
        code = procs[0].wait(timeout=120)
    err = (tmp_path / "worker0.err").read_text()
    assert code == 1, err[-3000:]
    assert "Lost contact with another worker" in err and "resume" in err
    assert "Traceback" not in err
    info = RunFolder(run_dir).load()
    assert info["status"] == "failed" and info["epochs_done"] > stopped["epochs_done"]
    # Resumed on one machine (here, in this process), it finishes every epoch.
    from training.fit.train import resume

    summary = resume(str(run_dir))
    assert summary.status == "complete"
    assert len(json.loads(history.read_text())) == 30


MIRRORED = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from training.recipe.config import TrainConfig
from training.data import open_dataset
from training.models import template
from training.runs.runfolder import load_model_file
from training.fit.train import train

data, out = sys.argv[1], sys.argv[2]
spec = template("mlp", input_size=(8, 8), color_mode="grayscale")
result = {}
runs = (("one", "one", 8, 0), ("two", "CPU:0,CPU:1", 4, 0),
        ("one_ema", "one", 8, 1), ("two_ema", "CPU:0,CPU:1", 4, 1))
for name, devices, batch, ema in runs:
    s = train(open_dataset(data), spec, TrainConfig(epochs=1, batch_size=batch, seed=3,
              early_stopping=False, devices=devices, ema_epochs=ema), run_dir=f"{out}/{name}")
    model = load_model_file(f"{out}/{name}/model_final.keras", compile=False)
    result[name] = {"history": s.history, "weights": [w.tolist() for w in model.get_weights()]}
print(json.dumps(result))
"""


def test_two_logical_devices_match_one_device(data, tmp_path):
    """MirroredStrategy over two logical CPUs (as Keras' own CI does): per-replica batch
    4 x 2 replicas = one device (Keras' fit) at batch 8, same seed -> after an epoch of
    four steps, the same model within tolerance, with and without a weight average of the
    weights (``training.fit.ema``). (One epoch: from the second on, a
    distributed dataset's reshuffled order differs from the one Keras' fit draws.)"""
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(data), str(tmp_path)], cwd=ROOT,
                          env=cli_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # With a weight average too: both loops validate and keep the averaged weights.
    for one, two in ((result["one"], result["two"]), (result["one_ema"], result["two_ema"])):
        for a, b in zip(one["history"], two["history"]):
            assert abs(a["loss"] - b["loss"]) < 1e-4 and abs(a["val_loss"] - b["val_loss"]) < 1e-4
        for a, b in zip(one["weights"], two["weights"]):
            np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)
    assert result["one_ema"]["history"][0]["val_loss"] != result["one"]["history"][0]["val_loss"]
    info = RunFolder(tmp_path / "two").load()
    assert info["distribution"]["strategy"] == "mirrored"
    assert info["distribution"]["replicas"] == 2 and info["distribution"]["global_batch"] == 8


def test_bad_device_lists_and_a_missing_cluster_are_refused_clearly(monkeypatch, capsys):
    from training.recipe.config import TrainConfig
    from training.fit.distributed import DistributedError, placement, resolve_devices

    assert resolve_devices("one") == []
    with pytest.raises(ValueError, match=r"Unknown device 'gpu:7'.*Available: .*cpu:0"):
        resolve_devices("GPU:7")
    from training.cli.main import main

    assert main(["train", str(ROOT / "resources" / "sample"), "--devices", "GPU:7",
                 "--epochs", "1"]) == 2   # bad input, before any file is written
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    with pytest.raises(DistributedError, match="needs TF_CONFIG"):
        placement(TrainConfig(multi_worker=True))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(DistributedError, match="TF_CONFIG is not valid JSON"):
        placement(TrainConfig(multi_worker=True))
