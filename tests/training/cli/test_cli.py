"""``python -m training``: every command's --json output and exit codes; kill and resume.

Most commands run in-process through ``main(argv)`` (TensorFlow is already loaded); one
test runs the real ``python -m training`` in a subprocess and kills it with SIGKILL.
"""
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.imagegen import class_image, make_class_folder, write_image
from tests.training.trainutil import kill_cli_training_after_first_checkpoint, read, run_cli
from training.runs import listing as runs
from training.cli.main import main
from training.runs.runfolder import RunFolder

ROOT = Path(__file__).resolve().parents[3]


def test_inspect_json(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6)
    (data / "cat" / "notes.txt").write_text("not an image")
    code, out, _ = run_cli(capsys, "inspect", data, "--json", "--val-fraction", "0.2")
    assert code == 0
    assert out["classes"] == ["cat", "dog", "fox"]
    assert out["counts"]["train"]["cat"] + out["counts"]["validation"]["cat"] \
        + out["counts"]["test"]["cat"] == 6
    assert any(b["path"].endswith("notes.txt") and b["reason"] for b in out["bad_files"])


def test_train_json_and_runs_table(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=20)
    run_dir = tmp_path / "run"
    code, out, _ = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "2", "--batch-size", "8",
                        "--out", run_dir, "--json")
    assert code == 0
    for key in ("test_accuracy", "test_loss", "classes", "confusion_matrix", "run_dir"):
        assert key in out
    assert out["run_dir"] == str(run_dir) and out["status"] == "complete"
    assert out["test_accuracy"] is not None
    spec = read(run_dir, "spec.json")
    assert spec["input_size"] == [16, 16]  # suggested from the data, not the 28x28 default

    code, out, _ = run_cli(capsys, "runs", tmp_path, "--json")
    assert code == 0 and [r["name"] for r in out["runs"]] == ["run"]
    assert out["runs"][0]["status"] == "complete"
    code = main(["runs", str(tmp_path)])
    table = capsys.readouterr().out
    assert code == 0 and "test acc" in table and "run" in table


def test_evaluate_and_predict_json(capsys, mlp_run, tmp_path):
    summary, data, _ = mlp_run
    run_copy = tmp_path / "run"   # evaluate rewrites evaluation.json: the session's run stays as trained
    shutil.copytree(summary.run_dir, run_copy)
    code, out, _ = run_cli(capsys, "evaluate", run_copy, "--json")
    assert code == 0
    for key in ("test_accuracy", "test_loss", "classes", "confusion_matrix", "run_dir", "per_class"):
        assert key in out
    assert out["test_accuracy"] == pytest.approx(summary.test_accuracy)
    assert out["confusion_matrix"] == summary.confusion_matrix

    img = write_image(tmp_path / "dog.png", class_image(1, 16))
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    csv_out = tmp_path / "out.csv"
    code, out, _ = run_cli(capsys, "predict", summary.run_dir, img, bad, "--top-k", "2", "--csv", csv_out,
                        "--json")
    assert code == 0 and out["num_classified"] == 1 and out["num_failed"] == 1
    out = out["predictions"]
    assert [r["path"] for r in out] == [str(img), str(bad)]
    assert out[0]["top_k"][0][0] == "dog" and len(out[0]["top_k"]) == 2
    assert out[1]["error"] and out[1]["top_k"] == []
    assert csv_out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("path,class_1")


@pytest.mark.parametrize("argv", [
    ["inspect", "/no/such/folder", "--json"],
    ["train", "/no/such/folder", "--json"],
    ["train", "{data}", "--epochs", "-1", "--json"],
    ["train", "{data}", "--model", "vgg", "--json"],
    ["train", "{data}", "--image-size", "big", "--json"],
    ["train", "--resume", "{tmp}/nothing", "--json"],
    ["evaluate", "{tmp}/nothing", "--json"],
    ["predict", "{tmp}", "{data}", "--json"],
    ["runs", "{tmp}/nothing", "--json"],
])
def test_bad_input_exits_2(capsys, tmp_path, argv):
    data = make_class_folder(tmp_path / "data", per_class=3)
    argv = [a.format(data=data, tmp=tmp_path) for a in argv]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = captured.out.strip().splitlines()
    assert "error" in json.loads(lines[-1])  # argparse errors too


def test_killed_training_is_listed_interrupted_and_resumes(capsys, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=20)
    run_dir = tmp_path / "runs" / "killed"
    kill_cli_training_after_first_checkpoint(data, run_dir, 12)
    done_before = read(run_dir, "run.json")["checkpoint"]["epoch"]
    assert 1 <= done_before < 12
    listed = {r["name"]: r for r in runs.list_runs(run_dir.parent)}
    assert listed["killed"]["status"] == "interrupted"

    code, out, _ = run_cli(capsys, "train", "--resume", run_dir, "--json")
    assert code == 0 and out["status"] == "complete"
    history = read(run_dir, "history.json")
    assert [h["epoch"] for h in history] == list(range(1, 13))  # the count continued
    assert out["epochs_done"] == 12
    # Optimizer state came from the checkpoint: its step counter covers all 12 epochs.
    model = RunFolder(run_dir).load_model("last", compile=True)
    batches = -(-read(run_dir, "run.json")["num_train"] // 2)
    assert int(model.optimizer.iterations.numpy()) == 12 * batches
    assert RunFolder(run_dir).load()["status"] == "complete"


@pytest.fixture(params=["foreground", "background"])
def sigint_at_start(request):
    """SIGINT's handler as the test process starts with it: Python's default in a terminal,
    ignored in a background job (``nohup scripts/test.sh &``: the shell starts it with
    SIGINT ignored). Yields that handler and puts the real one back afterwards."""
    real = signal.getsignal(signal.SIGINT)
    start = signal.default_int_handler if request.param == "foreground" else signal.SIG_IGN
    signal.signal(signal.SIGINT, start)
    yield start
    signal.signal(signal.SIGINT, real)


def test_ctrl_c_stops_training_cleanly_and_saves_the_run(capsys, tmp_path, sigint_at_start):
    """SIGINT during `train` becomes a stop request: the run is saved as stopped, exit 0;
    afterwards SIGINT has the handler it had before (ignored stays ignored in a background
    job: the CLI must not turn Ctrl-C back on for a process its shell shielded)."""
    import threading

    data = make_class_folder(tmp_path / "data", per_class=20)
    run_dir = tmp_path / "run"
    sent = {}

    def interrupt_after_first_epoch():
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if json.loads((run_dir / "run.json").read_text()).get("epochs_done", 0) >= 1:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
        sent["time"] = time.perf_counter()
        os.kill(os.getpid(), signal.SIGINT)  # delivered to the main thread, running main()

    thread = threading.Thread(target=interrupt_after_first_epoch, daemon=True)
    thread.start()
    code, out, _ = run_cli(capsys, "train", data, "--model", "mlp", "--epochs", "200", "--batch-size", "1",
                        "--no-early-stopping", "--out", run_dir, "--json")
    elapsed = time.perf_counter() - sent["time"]
    thread.join(5)
    assert code == 0 and out["status"] == "stopped"
    assert 1 <= out["epochs_done"] < 200 and elapsed < 2.0
    assert RunFolder(run_dir).load()["status"] == "stopped"
    assert (run_dir / "model_best.keras").is_file()
    assert signal.getsignal(signal.SIGINT) is sigint_at_start  # the handler it started with
