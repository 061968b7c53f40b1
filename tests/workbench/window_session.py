"""A session with the real main window, run as a process of its own like the app
(``python -m tests.workbench.window_session DATA OUT``), for the check that the window's
process never imports TensorFlow or Keras (issue 20): open a dataset, train from the
Training panel (a training process), evaluate from the Results panel, classify photos
and draw a Grad-CAM heatmap from the Classify panel, export, check data health (compute
service requests), with every panel shown. It prints one JSON line: each step's outcome
and which of ``tensorflow``/``keras`` are in ``sys.modules`` (and which module imported
them first, when one did).

The test (``test_no_tensorflow_in_window.py``) reads that line; the test process itself
can't be used, since other tests import TensorFlow into it.
"""
from __future__ import annotations

import builtins
import json
import os
import sys
import time
import traceback

FORBIDDEN = ("tensorflow", "keras")


def _watch_imports(first: dict) -> None:
    """Record the stack of the first import of a forbidden package (the culprit)."""
    real = builtins.__import__

    def spy(name, *args, **kwargs):
        top = name.split(".")[0]
        if top in FORBIDDEN and top not in sys.modules and top not in first:
            frames = [f for f in traceback.format_stack()[:-1] if "<frozen importlib" not in f]
            first[top] = "".join(frames[-12:])
        return real(name, *args, **kwargs)

    builtins.__import__ = spy


def _wait(until, timeout_s: float) -> bool:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if until():
            return True
        time.sleep(0.01)
    return False


def _request(job, timeout_s: float = 600) -> str:
    from workbench.workers.job_runner import JobRunner

    runner, out = JobRunner(), []
    runner.start(job, finished=lambda r: out.append("finished"), failed=lambda m: out.append(f"failed: {m}"),
                 stopped=lambda: out.append("stopped"))
    _wait(lambda: not runner.busy(), timeout_s)
    runner.shutdown()
    return out[0] if out else "timeout"


def session(data: str, out_dir: str) -> dict:
    from PySide6.QtWidgets import QApplication

    from workbench import collector, compute
    from workbench.compute.requests import ExportJob, GradCamJob, HealthJob
    from workbench.mainwindow import PANEL_KEYS, MainWindow

    app = QApplication.instance() or QApplication(["workbench"])
    collector.install(app)
    steps: dict = {}
    win = MainWindow()
    win.resize(1280, 800)
    win.show()
    try:
        win.open_dataset(data)
        steps["open"] = _wait(lambda: win.state.dataset is not None, 120)
        for key in PANEL_KEYS:   # every panel built and shown
            win.show_panel(key)
            _wait(lambda: False, 0.2)
        train = win.panels["train"]
        from training.recipe.config import TrainConfig

        win.state.set_train_config(TrainConfig(epochs=1, batch_size=8, seed=0))
        win.show_panel("train")
        train.start_training()
        finished = _wait(lambda: not train.pending_work(), 600)
        run_dir = win.state.run_dir
        steps["train"] = bool(finished and run_dir and os.path.isfile(os.path.join(run_dir, "run.json")))
        results = win.panels["results"]
        win.show_panel("results")
        _wait(lambda: not results.pending_work(), 300)
        results.evaluate()
        _wait(lambda: not results.pending_work(), 600)
        steps["evaluate"] = results.evaluation is not None
        classify = win.panels["classify"]
        win.show_panel("classify")
        photos = sorted(os.path.join(r, f) for r, _d, fs in os.walk(data) for f in fs)[:3]
        classify.classify(photos)
        _wait(lambda: not classify.pending_work(), 300)
        steps["classify"] = len(classify.results) == len(photos)
        steps["heatmap"] = _request(GradCamJob(run_dir, photos[0]))
        steps["export"] = _request(ExportJob(run_dir, ["saved_model"], os.path.join(out_dir, "export")))
        steps["health"] = _request(HealthJob(win.state.dataset, None, retrain=False))
    finally:
        win.close()
        win.shutdown()
        compute.shutdown()
    return steps


def main(argv=None) -> int:
    data, out_dir = (argv or sys.argv[1:])[:2]
    first: dict = {}
    _watch_imports(first)
    steps = session(data, out_dir)
    print(json.dumps({"steps": steps, "loaded": [m for m in FORBIDDEN if m in sys.modules],
                      "first_import": first}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
