"""A quiet terminal (issue 22 item 12): the app started as ``scripts/run.sh`` starts it,
and the CLI, print none of TensorFlow's, absl's, CUDA's or Qt's notices ("All log
messages before absl::InitializeLog()", oneDNN, "failed call to cuInit") to the terminal;
they go to ``native.log`` in the log folder. Real subprocesses, with the environment a
user has (no TF_CPP_MIN_LOG_LEVEL)."""
import os
import subprocess
import sys

from tests.imagegen import make_class_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISE = ("absl", "oneDNN", "cuInit", "cuda", "I0000", "E0000", "W0000", "propagateSizeHints",
         "Warning")


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY", "PYTHONWARNINGS")}
    env.update(QT_QPA_PLATFORM="offscreen", WORKBENCH_LOG_DIR=str(tmp_path / "logs"),
               WORKBENCH_SETTINGS_DIR=str(tmp_path / "settings"))
    return env


def test_app_start_prints_nothing_to_the_terminal(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6)
    # The Model panel's summary and the device probe import TensorFlow.
    out = subprocess.run([sys.executable, "main.py", "--dataset", str(data), "--panel", "model",
                          "--screenshot", str(tmp_path / "shot.png"), "--size", "1024x640"],
                         cwd=ROOT, env=_env(tmp_path), text=True, capture_output=True, timeout=300)
    assert out.returncode == 0, (out.stdout, out.stderr)
    # Nothing but the screenshot's own note, printed when a very busy machine keeps a
    # panel working past its 60 s wait (it says so instead of hanging).
    own = "warning: panels still busy after"
    assert [line for line in out.stderr.splitlines() if not line.startswith(own)] == []
    assert out.stdout.splitlines() == []
    native = (tmp_path / "logs" / "native.log").read_text(errors="replace")
    assert "main.py" in native   # the log names the process its lines came from


def test_cli_train_shows_its_progress_and_no_library_notices(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6)
    out = subprocess.run([sys.executable, "-m", "training", "train", str(data), "--model", "mlp",
                          "--epochs", "1", "--out", str(tmp_path / "run"), "--json"],
                         cwd=ROOT, env=_env(tmp_path), text=True, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr
    noisy = [line for line in out.stderr.splitlines() if any(n in line for n in NOISE)]
    assert noisy == [], noisy
    assert '"status": "complete"' in out.stdout.splitlines()[-1]
