"""Training in a process of its own, under faults (issue 20 item 2), with real processes:
a training process killed with SIGKILL mid-epoch, one that ignores Stop (Force stop),
the spare process that takes the next run, the device line, and the window staying
usable (Results of another run, Classify) while a run trains."""
import json
import os
import signal
import sys
import time

import pytest

from tests.imagegen import make_class_folder
from tests.workbench.panels import make_panel, make_window, wait_idle
from training.cpus import background_level
from workbench.panels.training import TrainingPanel
from workbench.workers import children
from workbench.workers.spare_trainer import AFTER_RUN_MS

PAUSING = (sys.executable, "-m", "tests.workbench.pausing_cli")


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    from training.data import open_dataset
    from training.models import template

    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    p = make_panel(qtbot, TrainingPanel, size=(1024, 640))
    root = make_class_folder(tmp_path / "data", per_class=12)
    p.state.set_dataset(None, open_dataset(str(root)))
    p.state.set_model_spec(template("mlp", input_size=(16, 16), color_mode="rgb", units=32))
    yield p
    p.shutdown()


def _long_config(**kw):
    from training.recipe.config import TrainConfig

    return TrainConfig(**{"epochs": 300, "batch_size": 2, "early_stopping": False, **kw})


def _raw_run(run_dir) -> dict:
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        return json.load(f)


def _thread_niceness(pid: int) -> dict[int, int]:
    """The niceness of every thread of ``pid`` (Linux keeps one per thread)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as f:
                out[int(tid)] = int(f.read().rsplit(")", 1)[1].split()[16])  # field 19
        except (OSError, IndexError, ValueError):
            pass   # a thread that has just ended
    return out


def test_kill_9_mid_epoch_says_stopped_unexpectedly_and_the_run_resumes(qtbot, panel):
    panel.state.set_train_config(_long_config())
    panel.start_training()
    # Mid-epoch: the second epoch's batches are running.
    qtbot.waitUntil(lambda: panel.epochs_seen >= 1
                    and "epoch 2/" in panel.progress.format(), timeout=120_000)
    pid = panel._worker.process_id()
    run_dir = panel.run_dir
    assert pid and pid != os.getpid() and _raw_run(run_dir)["pid"] == pid
    if sys.platform.startswith("linux"):
        # A background job, every thread of it (TensorFlow's and the BLAS pool's too),
        # so the window's GUI thread gets a core at once; the window itself is not lowered.
        nice, base = _thread_niceness(pid), os.getpriority(os.PRIO_PROCESS, 0)
        assert len(nice) > 2 and set(nice.values()) == {background_level(base)}, (base, nice)
        assert background_level(base) > base or base == 19
    os.kill(pid, signal.SIGKILL)
    wait_idle(qtbot, panel)

    text = panel.error_label.text()
    assert panel.error_label.isVisibleTo(panel)
    assert "Training stopped unexpectedly" in text and "SIGKILL" in text, text
    assert "Resume continues it after epoch" in text
    assert panel.progress.format() == "Stopped unexpectedly"
    assert "killed by signal 9" in panel.error_details.details   # Details: exit + its output
    info = _raw_run(run_dir)   # on disk, not just as read: never left "running"
    assert info["status"] == "interrupted" and "killed by signal 9" in info["ended"]
    done = info["checkpoint"]["epoch"]
    assert done >= 1 and panel.state.run_dir == run_dir
    assert not children.running()

    # Resume continues from the checkpoint, in a new process.
    qtbot.waitUntil(panel.resume_button.isEnabled, timeout=10_000)   # read on the pool
    assert panel.start_button.isEnabled()
    panel.resume_button.click()
    qtbot.waitUntil(lambda: len(panel.accuracy_chart.epochs) > done, timeout=120_000)
    assert panel._worker.process_id() not in (None, pid)
    panel.stop_training()
    wait_idle(qtbot, panel)
    assert not panel.error_label.isVisibleTo(panel), panel.error_label.text()
    history = json.loads(open(os.path.join(run_dir, "history.json"), encoding="utf-8").read())
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    assert len(history) > done and _raw_run(run_dir)["status"] == "stopped"


def test_stop_while_the_process_starts_is_not_lost(qtbot, panel):
    panel.state.set_train_config(_long_config())
    panel.start_training()
    qtbot.waitUntil(lambda: panel._worker.process_id() is not None, timeout=30_000)
    panel.stop_training()   # the process is still importing TensorFlow
    wait_idle(qtbot, panel, timeout=180_000)
    run_dir = panel.state.run_dir
    info = _raw_run(run_dir)   # the run began, saw the request addressed to it, and stopped
    assert info["status"] == "stopped" and info["epochs_done"] == 0
    assert panel.epochs_seen == 0 and "Stopped" in panel.status_label.text()
    assert not panel.error_label.isVisibleTo(panel)


def test_force_stop_ends_a_process_that_does_not_stop(qtbot, panel, monkeypatch):
    from workbench.workers.training import TrainingWorker

    # A real training process that stops responding after its first epoch.
    monkeypatch.setattr(TrainingWorker, "program", PAUSING + ("stall", "epoch:1"))
    panel._force_timer.setInterval(500)
    panel.state.set_train_config(_long_config())
    panel.start_training()
    qtbot.waitUntil(lambda: panel.epochs_seen >= 1, timeout=120_000)
    pid, run_dir = panel._worker.process_id(), panel.run_dir
    assert not panel.force_button.isVisibleTo(panel)
    panel.stop_button.click()
    assert panel.stop_button.text() == "Stopping…" and not panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.force_button.isVisibleTo(panel), timeout=5_000)
    assert panel.is_training() and "Force stop" in panel.hint.text()
    panel.force_button.click()
    wait_idle(qtbot, panel, timeout=10_000)
    assert not panel.force_button.isVisibleTo(panel)
    assert panel.status_label.text().startswith("Force-stopped — the run is kept; Resume "
                                                "continues it after epoch 1")
    info = _raw_run(run_dir)
    assert info["status"] == "stopped" and info["ended"] == "Force-stopped from the app"
    from training.runs.processes import _pid_alive
    from training.runs.runfolder import RunFolder

    assert not _pid_alive(pid) and RunFolder(run_dir).can_resume()[0]
    qtbot.waitUntil(panel.resume_button.isEnabled, timeout=10_000)   # read on the pool
    assert panel.start_button.isEnabled()


def test_a_spare_process_takes_the_next_run(qtbot, panel, monkeypatch):
    from training.recipe.config import TrainConfig

    monkeypatch.setenv("WORKBENCH_SPARE_TRAINER", "1")
    panel.state.set_train_config(TrainConfig(epochs=1, batch_size=8))
    panel.show()   # shown with a dataset open: TensorFlow loads in a spare process
    assert panel.spare.ready()
    qtbot.waitUntil(panel.spare.loaded, timeout=120_000)   # it said "ready"
    spare_pid = panel.spare._child.proc.pid
    if sys.platform.startswith("linux"):   # a background job before its job arrives, too
        base = os.getpriority(os.PRIO_PROCESS, 0)
        assert set(_thread_niceness(spare_pid).values()) == {background_level(base)}
    assert [c.proc.pid for c in children.running() if c.long_lived] == [spare_pid]
    # When the run ended (it becomes current) and when the next spare was started (the
    # real spawn, only timed): not in the run end's own burst of work.
    ended, spawned = [], []
    panel.state.runChanged.connect(lambda _: ended.append(time.monotonic()))
    real_spawn = children.spawn
    monkeypatch.setattr(children, "spawn", lambda argv, name, *a, **k: (
        spawned.append(time.monotonic()) if name == "train-spare" else None, real_spawn(argv, name, *a, **k))[1])
    panel.start_training()
    wait_idle(qtbot, panel)
    assert "Training finished" in panel.status_label.text(), panel.error_label.text()
    assert _raw_run(panel.state.run_dir)["pid"] == spare_pid   # the spare trained it
    # A new spare waits for the next Start; the panel's shutdown ends it.
    qtbot.waitUntil(panel.spare.ready, timeout=5_000)
    assert panel.spare._child.proc.pid != spare_pid
    assert ended and len(spawned) == 1, (ended, spawned)
    assert spawned[0] - ended[-1] >= 0.9 * AFTER_RUN_MS / 1000, spawned[0] - ended[-1]


def test_a_spare_started_in_another_environment_is_not_used(monkeypatch):
    from workbench.workers.spare_trainer import SpareTrainer

    monkeypatch.setenv("WORKBENCH_SPARE_TRAINER", "1")
    spare = SpareTrainer()
    spare.prepare()
    proc = spare._child.proc
    # TensorFlow reads its environment at import: a spare that imported it under other
    # settings must not train; WORKBENCH_* settings travel with the job instead.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1" if os.environ.get("CUDA_VISIBLE_DEVICES") != "-1"
                       else "")
    assert spare.claim(["--help"]) is None
    assert proc.poll() is not None and not spare.ready() and not children.running()
    spare.shutdown()


def test_device_line_shows_mixed_precision_and_what_a_gpu_lacks(qtbot, panel):
    assert not panel.gpu_note.isVisibleTo(panel)
    panel._on_device({"name": "NVIDIA H100 80GB HBM3", "gpus": ["NVIDIA H100 80GB HBM3"],
                      "mixed_precision": True, "problem": None})
    assert panel.device_label.text() == "Device: NVIDIA H100 80GB HBM3 · mixed precision"
    assert panel.state.device == "NVIDIA H100 80GB HBM3"
    missing = ("NVIDIA driver 550.54 found, but TensorFlow's CUDA 12.5 and cuDNN 9 libraries "
               "are not installed: training uses the CPU.")
    panel._on_device({"name": "CPU", "gpus": [], "mixed_precision": False, "problem": missing})
    assert panel.device_label.text() == "Device: CPU"
    assert panel.gpu_note.isVisibleTo(panel) and missing in panel.gpu_note.text()


def test_results_and_classify_stay_usable_while_a_run_trains(qtbot, tmp_path, monkeypatch):
    from tests.imagegen import class_image, write_image
    from tests.workbench.tiny_run import tiny_run
    from training.data import open_dataset

    shared = tiny_run()
    # The session's runs root, where the shared run is: both runs in one list, as a
    # person has them.
    w = make_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))
    try:
        w.state.set_dataset(None, open_dataset(str(make_class_folder(tmp_path / "data",
                                                                     per_class=12))))
        w.state.set_train_config(_long_config())
        train = w.panels["train"]
        train.start_training()
        qtbot.waitUntil(lambda: train.epochs_seen >= 1, timeout=120_000)
        # Results of another run, and Classify with it, while this one trains.
        results = w.panels["results"]
        w.show_panel("results")
        results.load_run(shared["run_dir"])
        qtbot.waitUntil(lambda: results.evaluation is not None, timeout=60_000)
        assert "accuracy" in results.header.text()
        classify = w.panels["classify"]
        w.show_panel("classify")
        w.state.set_run(shared["run_dir"])
        qtbot.waitUntil(lambda: classify.current_run() == shared["run_dir"], timeout=30_000)
        photo = write_image(tmp_path / "photos" / "fox.png", class_image(2, 16))
        classify.classify([str(photo)])
        qtbot.waitUntil(lambda: len(classify.results) == 1, timeout=60_000)
        assert classify.results[0]["top_k"]
        epochs = train.epochs_seen
        assert train.is_training()
        qtbot.waitUntil(lambda: train.epochs_seen > epochs, timeout=60_000)   # still training
        train.stop_training()
        wait_idle(qtbot, train)
        assert "Stopped" in train.status_label.text()
    finally:
        w.shutdown()
