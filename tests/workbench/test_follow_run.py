"""The Training panel follows a run that a CLI process trains, and stops it (issue 15):
curves, epoch log, progress and status come from the run folder as if it were local."""
import json
import os
import subprocess
import sys


from tests.imagegen import make_class_folder
from tests.training.fit.distutil import ROOT, cli_env
from tests.workbench.panels import panel_fixture
from training.runs.runfolder import RunFolder


panel = panel_fixture("panel", "workbench.panels.training.TrainingPanel", size=(1024, 640), show=True)


def test_panel_follows_a_cli_run_and_stops_it(qtbot, panel, tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=14, size=8)
    run_dir = tmp_path / "cli_run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "training", "train", str(data), "--model", "mlp", "--image-size",
         "8", "--color", "grayscale", "--batch-size", "1", "--epochs", "300",
         "--no-early-stopping", "--out", str(run_dir), "--json"],
        cwd=ROOT, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        batches = []   # live progress (live.json) reaching the panel's own batch slot
        on_batch = panel._on_batch
        panel._on_batch = lambda info: (batches.append(info), on_batch(info))
        panel.follow_run(str(run_dir))   # before the folder even exists
        assert panel.follower.active
        qtbot.waitUntil(lambda: panel.epochs_seen >= 1, timeout=120_000)
        # Live progress of an epoch in progress came from live.json (the first epoch, which
        # traces the model, lasts long enough for at least one write).
        qtbot.waitUntil(lambda: bool(batches), timeout=20_000)
        assert batches[0]["batches"] > 1 and "epoch" in panel.progress.format().lower()
        assert panel.stop_button.isEnabled()
        assert panel.log.toPlainText().count("Epoch") >= 1
        assert len(panel.accuracy_chart.state()["epochs"]) >= 1   # the curves have it
        if os.environ.get("WORKBENCH_FOLLOW_SCREENSHOT"):
            panel.accuracy_chart.draw()
            panel.loss_chart.draw()
            panel.grab().save(os.environ["WORKBENCH_FOLLOW_SCREENSHOT"])
        panel.stop_training()            # writes the stop request into the run folder
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["status"] == "stopped"
    assert "Stop requested from outside this process" in err
    qtbot.waitUntil(lambda: not panel.follower.active, timeout=15_000)
    info = RunFolder(run_dir).load()
    assert info["status"] == "stopped" and info["epochs_done"] >= 1
    assert "stopped" in panel.status_label.text().lower()
    assert panel.stop_button.text() == "Stop"


def test_a_followed_runs_files_are_read_on_the_pool_in_order(qtbot, tmp_path, monkeypatch):
    # history.json and run.json were read on the GUI thread at every epoch's end: each
    # open/stat/realpath there waited for the GIL held by the pool drawing the charts.
    import shutil
    import threading

    from tests.workbench.tiny_run import tiny_run
    from training.runs.runfolder import HISTORY_JSON, write_json
    from workbench.panels import training_follow
    from workbench.panels.training_follow import RunFollower

    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(tiny_run()["run_dir"], first)
    shutil.copytree(tiny_run()["run_dir"], second)
    history = json.loads((first / HISTORY_JSON).read_text(encoding="utf-8"))
    assert len(history) == 2
    write_json(first / HISTORY_JSON, history[:1])
    write_json(second / HISTORY_JSON, history[:1])   # one epoch: the first run's two must not show
    gui, read_on, release = threading.get_ident(), [], threading.Event()
    real = training_follow.read_run_files

    def observed(run_dir, names, want_config, follows):
        answer = real(run_dir, names, want_config, follows)
        read_on.append((threading.get_ident(), run_dir))
        if run_dir == str(first) and len(read_on) == 2:
            release.wait(10)   # the first run's second read answers after another is followed
        return answer

    monkeypatch.setattr(training_follow, "read_run_files", observed)
    follower = RunFollower()
    epochs = []
    follower.epoch.connect(lambda info: epochs.append((follower.run_dir, info["epoch"])))
    follower.follow(str(first), local=True)
    assert epochs == [] and follower.reading()   # nothing read here
    qtbot.waitUntil(lambda: epochs == [(str(first), 1)] and not follower.reading(), timeout=10_000)
    assert follower.config is not None   # the run's own settings, read with its history
    write_json(first / HISTORY_JSON, history)   # epoch 2 ends: the watcher reports it
    qtbot.waitUntil(lambda: len(read_on) == 2, timeout=10_000)
    follower.follow(str(second), local=True)    # another run, while that read is out
    release.set()
    qtbot.waitUntil(lambda: not follower.reading() and len(read_on) == 3, timeout=10_000)
    qtbot.wait(100)
    assert epochs == [(str(first), 1), (str(second), 1)]
    assert all(thread != gui for thread, _run in read_on)
    follower.stop()
