"""Start pressed -> first epoch shown, through the Training panel (issue 20, item 2).

    python bench/train_start_latency.py [--runs 3] [--data resources/sample] [--epochs 2]

Each trial is a fresh process that builds a ``QApplication`` and the real Training panel
(offscreen), opens the dataset, presses Start and records, on the GUI thread, when the
panel showed the first batch, the first epoch (its chart and log line) and the end of
the run. Variants, measured side by side in the same run of this script:

- ``tf-preloaded``: TensorFlow was imported in the window's process before Start (what
  the app's device probe used to do after the first paint): the best case of training
  in the window's own process.
- ``cold``: nothing was imported before Start.

Whatever the panel does on Start (train on a worker thread in the window's process, or
start a training process and supervise it) is what is measured: run it on two commits
to compare them. The cold case is what a person gets on the first Start after opening
the app; with training in a process of its own every Start is that case, unless a
spare process is kept ready (see workbench/workers/training.py).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "bench"))
variant, data, epochs = sys.argv[2], sys.argv[3], int(sys.argv[4])
from PySide6.QtWidgets import QApplication
app = QApplication([])
import common
from training.data import open_dataset
from training.models import template
from training.recipe.config import TrainConfig
from workbench.appstate.state import AppState
from workbench.panels.training import TrainingPanel

if variant == "tf-preloaded":
    from workbench.workers.tfload import ensure_tensorflow
    ensure_tensorflow()
state = AppState()
panel = TrainingPanel(state)
panel.resize(1024, 640)
panel.show()
index = open_dataset(data)
state.set_dataset(index.spec, index)
state.set_model_spec(template("cnn", input_size=(28, 28), color_mode="grayscale"))
state.set_train_config(TrainConfig(epochs=epochs, batch_size=64, early_stopping=False))
marks = {}
first_batch = panel._on_batch
def on_batch(info):
    marks.setdefault("batch", time.perf_counter())
    first_batch(info)
panel._on_batch = on_batch
spare = getattr(panel, "spare_ready", None)
if spare is not None:          # a spare training process, when the panel keeps one
    common.qt_wait(spare, 120)
common.qt_wait(lambda: True, 0.5)
t0 = time.perf_counter()
panel.start_button.click()
ok = common.qt_wait(lambda: panel.epochs_seen >= 1, 300)
t_epoch = time.perf_counter()
common.qt_wait(lambda: not panel.pending_work(), 300)
t_end = time.perf_counter()
ok = ok and "Training finished" in panel.status_label.text()
panel.shutdown()
print(json.dumps({"ok": ok, "first_batch_s": marks.get("batch", float("nan")) - t0,
                  "first_epoch_s": t_epoch - t0, "end_s": t_end - t0,
                  "status": panel.status_label.text()}))
"""


def trial(variant: str, data: str, epochs: int, runs_dir: str) -> dict:
    env = dict(os.environ, WORKBENCH_RUNS_DIR=runs_dir)
    proc = subprocess.run([sys.executable, "-c", CHILD, common.ROOT, variant, data, str(epochs)],
                          capture_output=True, text=True, env=env, timeout=900, cwd=common.ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        # A crash is a result too (the in-process path segfaulted here now and then).
        print(f"  {variant} failed (exit {proc.returncode}): {proc.stderr[-600:]}", flush=True)
        return {"ok": False, "crashed": proc.returncode}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--data", default=common.SAMPLE_DIR)
    parser.add_argument("--variants", default="tf-preloaded,cold")
    args = parser.parse_args()
    import tempfile

    runs_dir = tempfile.mkdtemp(prefix="bench-start-latency-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=common.ROOT).stdout.strip()
    print(common.machine_line())
    print(f"commit {commit}, data {args.data}, cnn 28x28 grayscale, {args.epochs} epochs, "
          f"{args.runs} trials per variant (interleaved)\n")
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    crashes: dict[str, int] = {}
    for _ in range(args.runs):
        for v in variants:
            r = trial(v, args.data, args.epochs, runs_dir)
            if "crashed" in r:
                crashes[v] = crashes.get(v, 0) + 1
                continue
            results[v].append(r)
            print(f"  {v}: first batch {r['first_batch_s']:.2f} s, first epoch "
                  f"{r['first_epoch_s']:.2f} s, end {r['end_s']:.2f} s, ok {r['ok']}", flush=True)
    rows = []
    for v in variants:
        rs = results[v] or [{"ok": False, "first_batch_s": float("nan"),
                             "first_epoch_s": float("nan"), "end_s": float("nan")}]
        med = {k: sorted(r[k] for r in rs)[len(rs) // 2] for k in ("first_batch_s", "first_epoch_s", "end_s")}
        rows.append([v, len(results[v]), crashes.get(v, 0), med["first_batch_s"],
                     med["first_epoch_s"], med["end_s"], all(r["ok"] for r in rs)])
    print()
    print(common.table(["variant", "trials", "crashed", "first batch s (median)", "first epoch s (median)",
                        "run end s (median)", "all finished"], rows))
    print(common.load_line())


if __name__ == "__main__":
    main()
