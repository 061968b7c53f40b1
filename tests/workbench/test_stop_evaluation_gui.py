"""Stopping during evaluation from the GUI: the Results panel's Evaluate job (Cancel) and
the Training panel's run while it evaluates at the end. The job is held at its
"Evaluating on …" status (tests/workbench/pausing.py; the Results panel's in the compute
service) so the stop lands there every time;
the stop itself goes through the real core check before the next prediction batch."""
import json
import os
import shutil
import sys

from tests.imagegen import make_class_folder
from tests.workbench.panels import wait_idle as _wait_idle
from tests.workbench.pausing import pausing_job
from tests.workbench.tiny_run import tiny_run

PAUSING = (sys.executable, "-m", "tests.workbench.pausing_cli")


def test_cancel_evaluation_in_the_results_panel(qtbot, tmp_path, monkeypatch, results_panel):
    import workbench.panels.results as results_module

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run()["run_dir"], run_dir)
    before = (run_dir / "evaluation.json").read_bytes()
    job_cls, reached = pausing_job(results_module.EvaluationJob, "Evaluating on")
    monkeypatch.setattr(results_module, "EvaluationJob", job_cls)
    panel = results_panel
    panel.state.set_run(str(run_dir))
    _wait_idle(qtbot, panel)
    assert panel.evaluation is not None
    panel.evaluate_button.click()
    assert panel.is_evaluating() and panel.evaluate_button.text() == "Cancel evaluation"
    qtbot.waitUntil(reached.is_set, timeout=90_000)
    panel.evaluate_button.click()  # now it cancels
    assert not panel.evaluate_button.isEnabled()
    _wait_idle(qtbot, panel)
    assert panel.last_cancel_latency is not None and panel.last_cancel_latency < 2.0, \
        f"the evaluation went on {panel.last_cancel_latency} s after Cancel"
    assert "cancelled" in panel.header.text()
    assert (run_dir / "evaluation.json").read_bytes() == before  # nothing half-written
    # The panel stays usable: evaluating again (no pause this time) completes.
    reached.set()
    assert panel.evaluate_button.isEnabled() and panel.evaluate_button.text() == "Re-evaluate"
    panel.evaluate_button.click()
    _wait_idle(qtbot, panel)
    assert panel.evaluation is not None and "accuracy" in panel.header.text()


def test_stop_while_the_training_run_evaluates(qtbot, tmp_path, monkeypatch, training_panel):
    from training.data import open_dataset
    from training.models import template
    from training.fit.train import TrainConfig
    from workbench.workers.training import TrainingWorker

    # The training process is the real CLI, held at its "Evaluating on" status until the
    # stop request arrives (tests/workbench/pausing_cli.py).
    real = TrainingWorker.program
    monkeypatch.setattr(TrainingWorker, "program", PAUSING + ("until-stop", "Evaluating on"))
    panel = training_panel
    state = panel.state
    data = make_class_folder(tmp_path / "data", per_class=12)
    state.set_dataset(None, open_dataset(str(data)))
    state.set_model_spec(template("mlp", input_size=(16, 16), color_mode="rgb", units=32))
    state.set_train_config(TrainConfig(epochs=1, batch_size=8))
    panel.start_training()
    qtbot.waitUntil(lambda: panel.status_label.text().startswith("Evaluating on"), timeout=180_000)
    assert panel.epochs_seen == 1
    panel.stop_button.click()
    _wait_idle(qtbot, panel)
    assert panel.stop_ack_latency is not None and panel.stop_ack_latency < 2.0, \
        f"the run went on {panel.stop_ack_latency} s after Stop"
    assert panel.last_stop_latency is not None and panel.last_stop_latency < 5.0
    run_dir = state.run_dir
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        info = json.load(f)
    assert info["status"] == "stopped" and info["evaluation"] == "skipped"
    assert info["epochs_done"] == 1
    assert os.path.isfile(os.path.join(run_dir, "model_best.keras"))
    assert not os.path.exists(os.path.join(run_dir, "evaluation.json"))
    assert "Stopped" in panel.status_label.text()
    assert panel.start_button.isEnabled()
    # Resume finishes the missing step: it evaluates, training no further epoch.
    monkeypatch.setattr(TrainingWorker, "program", real)
    qtbot.waitUntil(panel.resume_button.isEnabled, timeout=10_000)   # read on the pool
    panel.resume_button.click()
    _wait_idle(qtbot, panel)
    with open(os.path.join(run_dir, "run.json"), encoding="utf-8") as f:
        info = json.load(f)
    assert info["status"] == "complete" and info["epochs_done"] == 1
    assert os.path.isfile(os.path.join(run_dir, "evaluation.json"))
    assert "Training finished: test accuracy" in panel.status_label.text()
