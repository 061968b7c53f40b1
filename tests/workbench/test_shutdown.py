"""Closing the main window while training runs exits the app cleanly and quickly, and
leaves no training process behind.

Each case launches a real app process (MainWindow with every panel, offscreen), opens a
tiny dataset, starts training from the Training panel (which runs it in a training
process of its own), closes the window at a given moment and measures how long the app
takes to exit after the close; the training process must be gone by then. The moments:
the first batch, mid-training (after two epochs), the evaluation at the end of a run
(held there by tests/workbench/pausing_cli.py, since a tiny evaluation takes
milliseconds), the fine-tune phase of a MobileNetV2 (alpha 0.35, random weights,
32x32), and a training process that ignores the stop request (it is killed after the
grace period, and its run stays resumable). ``gui_killed``: the app itself is killed
(SIGKILL) mid-training, as a crash would end it; its training process must die within
5 s too (the parent-death signal), and the run reads as interrupted.
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.imagegen import make_class_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent(r"""
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    data, when = sys.argv[2], sys.argv[3]
    import faulthandler
    faulthandler.enable()   # a crash prints every thread's stack into the failure message
    app = QApplication([])
    from workbench import collector
    collector.install(app)   # as app.main() does: collections on the GUI thread only
    from training.data import DatasetSpec, open_dataset
    from training.recipe.config import TrainConfig
    from workbench.workers.training import TrainingWorker

    pausing = (sys.executable, "-m", "tests.workbench.pausing_cli")
    if when == "evaluation":
        TrainingWorker.program = pausing + ("until-stop", "Evaluating on")
    elif when == "stalled":   # never stops by itself: the window must kill it
        TrainingWorker.program = pausing + ("stall", "epoch:1")
    try:
        from workbench.mainwindow import MainWindow
        window = MainWindow(probe_device=False)
        # This test is about what happens once the user has agreed to quit: answer the
        # quit-while-training question ("Don't ask again") up front
        # (tests/workbench/test_quit_guard.py covers the question itself).
        from workbench.actions import quit_guard
        window.settings.set_value(quit_guard.SETTING, "false")
        panel = window.panels["train"]
        window.show_panel("train")
    except ImportError:  # fall back to the panel alone in a plain window
        from PySide6.QtWidgets import QMainWindow
        from workbench.panels.training import TrainingPanel
        from workbench.appstate.state import AppState

        class Window(QMainWindow):
            def closeEvent(self, event):
                panel.shutdown()
                super().closeEvent(event)

        window = Window()
        window.state = AppState(window)
        panel = TrainingPanel(window.state, window)
        window.setCentralWidget(panel)
    window.resize(1100, 700)
    window.show()
    window.state.set_dataset(DatasetSpec(path=data), open_dataset(data))
    config = TrainConfig(epochs=1000, batch_size=4, early_stopping=False)
    if when == "evaluation":
        config = TrainConfig(epochs=1, batch_size=4)
    elif when == "fine_tune":
        from training.models import template

        window.state.set_model_spec(template("mobilenet_v2", input_size=(32, 32), color_mode="rgb",
                                             weights="random", alpha=0.35, fine_tune_from=100))
        config = TrainConfig(epochs=1, batch_size=8, fine_tune_epochs=1000, early_stopping=False)
    window.state.set_train_config(config)
    panel.start_training()

    def tick():
        started = panel.progress.format().startswith("Training")
        status = panel.status_label.text()
        if ((when == "first_batch" and started)
                or (when in ("mid_training", "gui_killed") and panel.epochs_seen >= 2)
                or (when == "evaluation" and status.startswith("Evaluating on"))
                or (when == "stalled" and panel.epochs_seen >= 1)
                or (when == "fine_tune" and panel.progress.format().startswith("Fine-tuning"))):
            timer.stop()
            print("CLOSING", json.dumps({"run_dir": panel.run_dir, "epochs": panel.epochs_seen,
                                         "pid": panel._worker.process_id()}), flush=True)
            if when != "gui_killed":   # the test kills this process instead
                window.close()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(20)
    code = app.exec()
    print("EXITING", code, flush=True)
    sys.exit(code)
""")


@pytest.mark.parametrize("when", ["first_batch", "mid_training", "evaluation", "fine_tune",
                                  "stalled", "gui_killed"])
def test_closing_the_window_during_training_exits_cleanly(tmp_path, when):
    from training.runs.processes import _pid_alive

    data = make_class_folder(tmp_path / "data", per_class=12)
    script = tmp_path / "app_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               WORKBENCH_RUNS_DIR=str(tmp_path / "runs"),
               WORKBENCH_SETTINGS_DIR=str(tmp_path / "settings"))
    proc = subprocess.Popen([sys.executable, str(script), ROOT, str(data), when],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    closed_at = None
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("CLOSING"):
                closed_at = time.monotonic()
                trainer = json.loads(line.split(" ", 1)[1])["pid"]
                break
        assert closed_at is not None, f"the app never reached the close point (exit " \
            f"{proc.wait(30)}):\n" + "".join(lines) + proc.stderr.read()[-3000:]
        assert trainer and _pid_alive(trainer), "no training process while training"
        if when == "gui_killed":
            proc.kill()   # as a crash would end the app
        code = proc.wait(timeout=30)
        exit_seconds = time.monotonic() - closed_at
        # No orphan: the training process is gone within 5 s of the close (or the crash).
        while _pid_alive(trainer) and time.monotonic() - closed_at < 5.0:
            time.sleep(0.05)
        orphan = _pid_alive(trainer)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest = proc.stdout.read()
    err = proc.stderr.read()
    assert not orphan, f"the training process {trainer} outlived the app by 5 s"
    runs_root = tmp_path / "runs"
    runs = [d for d in runs_root.iterdir() if (d / "run.json").exists()] if runs_root.exists() else []
    assert len(runs) == 1
    if when == "gui_killed":
        from training.runs.runfolder import RunFolder

        assert code == -9
        assert RunFolder(runs[0]).load()["status"] == "interrupted"   # resumable
        assert RunFolder(runs[0]).can_resume()[0]
        return
    assert code == 0, f"exit code {code}\n{err[-3000:]}"
    assert "EXITING 0" in rest
    assert "Fatal Python error" not in err and "QThread: Destroyed" not in err, err[-3000:]
    print(f"{when}: exited {exit_seconds:.2f} s after the close")
    assert exit_seconds < 5.0, f"took {exit_seconds:.1f} s to exit after closing"
    # The interrupted run is recorded as stopped, never left "running".
    status = json.loads((runs[0] / "run.json").read_text(encoding="utf-8"))["status"]
    assert status == "stopped"
    if when != "first_batch":  # an epoch had ended: its checkpoint is kept
        assert (runs[0] / "model_best.keras").is_file()
    info = json.loads((runs[0] / "run.json").read_text(encoding="utf-8"))
    if when == "evaluation":
        assert info["epochs_done"] == 1 and info["evaluation"] == "skipped"
    if when == "fine_tune":
        assert info["epochs_done"] >= 1 and info["checkpoint"]["epoch"] >= 1
    if when == "stalled":   # killed after the grace period: kept, resumable
        assert info["epochs_done"] >= 1 and info.get("ended")
