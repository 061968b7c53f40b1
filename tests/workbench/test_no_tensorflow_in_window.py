"""The window's process never imports TensorFlow or Keras (issue 20): a session of train,
evaluate, classify, heatmap, export and health in the real main window, run as a process
of its own (``tests/workbench/window_session.py``) with a real compute service and a real
training process."""
import json
import os
import subprocess
import sys

from tests.imagegen import make_class_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_whole_session_leaves_tensorflow_and_keras_out_of_the_window(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=8)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_SPARE_TRAINER="0",
               **{var: str(tmp_path / sub) for var, sub in (
                   ("WORKBENCH_SETTINGS_DIR", "settings"), ("WORKBENCH_RUNS_DIR", "runs"),
                   ("WORKBENCH_LOG_DIR", "logs"))})
    out = subprocess.run([sys.executable, "-m", "tests.workbench.window_session", str(data),
                          str(tmp_path / "out")], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    steps = report["steps"]
    assert steps == {"open": True, "train": True, "evaluate": True, "classify": True,
                     "heatmap": "finished", "export": "finished", "health": "finished"}, steps
    assert report["loaded"] == [], "imported in the window's process by:\n" + "\n".join(
        f"{name}:\n{stack}" for name, stack in report["first_import"].items())
