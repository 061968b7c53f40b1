"""Start pressed -> first epoch shown, through the Training panel (issue 20, item 2).

    python bench/train_start_latency.py [--runs 3] [--data resources/sample] [--epochs 2]
                                        [--think 8] [--baseline-root DIR]

Each trial is a fresh process that builds a ``QApplication`` and the real Training panel
(offscreen, shown), opens the dataset, waits ``--think`` seconds (a person reading the
panel before pressing Start), presses Start and records, on the GUI thread, when the
panel showed the first batch, the first epoch (its chart and log line) and the end of
the run. Variants, interleaved in the same run of this script:

- ``process-cold``: this tree; the run trains in a process started on Start
  (``WORKBENCH_SPARE_TRAINER=0``): Python and TensorFlow load after the click.
- ``process-spare``: this tree, as shipped: a spare training process was started when
  the panel was shown with the dataset, had imported TensorFlow (the trial waits for
  that, then ``--think``), and takes the job.
- ``follow`` (``--follow-trials``): a run another process trains, shown through its run
  folder alone (file watcher + re-scan): the lag from the trainer announcing an epoch to
  the panel showing it.
- ``inprocess-tf-preloaded`` / ``inprocess-cold`` (with ``--baseline-root``, a checkout
  of the commit before training moved out of the window's process): training on a
  worker thread in the window's process, with TensorFlow imported before Start (what
  the app's device probe did after the first paint) or not.

A crash of the trial process is counted, not hidden. (Earlier versions of this script
hooked the panel's batch slot with a plain function, which PySide runs on the worker's
thread: the in-process path then segfaulted in every trial. Both paths are now watched
from the GUI thread alone.)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "bench"))
variant, data, epochs, think = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
from PySide6.QtWidgets import QApplication
app = QApplication([])
import common
try:   # as app.main() does: garbage collection on the GUI thread only
    from workbench import collector
    collector.install(app)
except ImportError:   # a checkout from before the collector
    pass
from training.data import open_dataset
from training.models import template
from training.recipe.config import TrainConfig
from workbench.appstate.state import AppState
from workbench.panels.training import TrainingPanel
from training.runs.runfolder import RunFolder

if variant == "inprocess-tf-preloaded":
    # The old tree trained in the window's process: load TensorFlow before Start, as its
    # warm window had.
    import keras  # noqa: F401
    import tensorflow  # noqa: F401
state = AppState()
panel = TrainingPanel(state)
panel.resize(1024, 640)
panel.show()
index = open_dataset(data)
state.set_dataset(index.spec, index)
state.set_model_spec(template("cnn", input_size=(28, 28), color_mode="grayscale"))
state.set_train_config(TrainConfig(epochs=epochs, batch_size=64, early_stopping=False))
marks = {}
def first_epoch_shown():
    # Polled on the GUI thread every 2 ms (common.qt_wait), the same way in every tree: a
    # hook on the panel's slot would be a plain function, which PySide calls on the
    # emitting (worker) thread, and a widget touched there crashes the in-process path.
    if "batch" not in marks and " batch " in panel.progress.format():
        marks["batch"] = time.perf_counter()
    return panel.epochs_seen >= 1
if variant == "follow":
    # A run another process trains, followed through its run folder alone (file watcher
    # + re-scan): how long after the trainer announced an epoch does the panel show it?
    import subprocess, threading
    run_dir = os.path.join(os.environ["WORKBENCH_RUNS_DIR"], f"follow-{os.getpid()}")
    spec_file = os.path.join(os.environ["WORKBENCH_RUNS_DIR"], f"spec-{os.getpid()}.json")
    with open(spec_file, "w") as f:
        f.write(state.model_spec.to_json())
    proc = subprocess.Popen([sys.executable, "-m", "training", "train", data, "--spec", spec_file,
                             "--epochs", str(epochs), "--batch-size", "64", "--no-early-stopping",
                             "--out", run_dir, "--events"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    announced, shown = {}, {}
    def read():
        for line in proc.stdout:
            m = json.loads(line)
            if m["type"] == "epoch":
                announced[m["info"]["epoch"]] = time.perf_counter()
    threading.Thread(target=read, daemon=True).start()
    written = {}
    def record(info):   # after the panel's own slot (connected first) showed it
        shown.setdefault(int(info["epoch"]), time.perf_counter())
        # The history file is written first at an epoch's end (then the checkpoint, then the
        # event): the lag from its write to the panel is the follow path's own.
        hist = RunFolder(run_dir).history_json
        written.setdefault(int(info["epoch"]), time.time() - os.stat(hist).st_mtime)
    panel.follower.epoch.connect(record)
    panel.follow_run(run_dir)
    common.qt_wait(lambda: len(shown) >= epochs, 600)
    lags = [shown[e] - announced[e] for e in sorted(shown) if e in announced]
    proc.stdin.close(); proc.wait(60)
    panel.shutdown()
    print(json.dumps({"ok": len(written) == epochs, "lags": lags,
                      "from_write": [written[e] for e in sorted(written)]}))
    sys.exit(0)
if variant == "process-spare":   # as with TensorFlow preloaded: the spare has imported it
    t_spare = time.perf_counter()
    common.qt_wait(panel.spare.loaded, 300)
    spare_load_s = time.perf_counter() - t_spare
common.qt_wait(lambda: False, think)   # the person reads the panel
t0 = time.perf_counter()
panel.start_button.click()
ok = common.qt_wait(first_epoch_shown, 300)
t_epoch = time.perf_counter()
common.qt_wait(lambda: not panel.pending_work(), 300)
t_end = time.perf_counter()
ok = ok and "Training finished" in panel.status_label.text()
panel.shutdown()
print(json.dumps({"ok": ok, "spare_load_s": globals().get("spare_load_s"), "first_batch_s": marks.get("batch", float("nan")) - t0,
                  "first_epoch_s": t_epoch - t0, "end_s": t_end - t0,
                  "status": panel.status_label.text()}))
"""


def trial(variant: str, data: str, epochs: int, runs_dir: str, think: float,
          baseline_root: str | None) -> dict:
    env = dict(os.environ, WORKBENCH_RUNS_DIR=runs_dir,
               WORKBENCH_SPARE_TRAINER="1" if variant == "process-spare" else "0")
    root = baseline_root if variant.startswith("inprocess") else common.ROOT
    proc = subprocess.run([sys.executable, "-c", CHILD, root, variant, data, str(epochs),
                           str(think)],
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
    parser.add_argument("--think", type=float, default=8.0)
    parser.add_argument("--baseline-root", help="a checkout with training in the window's process")
    parser.add_argument("--variants", default=None)
    parser.add_argument("--follow-trials", type=int, default=1,
                        help="runs followed through their folder alone (epoch-shown lag)")
    args = parser.parse_args()
    import tempfile

    runs_dir = tempfile.mkdtemp(prefix="bench-start-latency-")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=common.ROOT).stdout.strip()
    print(common.machine_line())
    print(f"commit {commit} (baseline: {args.baseline_root or 'none'}), data {args.data}, cnn "
          f"28x28 grayscale, {args.epochs} epochs, {args.think:g} s before Start, {args.runs} "
          f"trials per variant (interleaved); the machine is shared with other work\n")
    variants = (args.variants.split(",") if args.variants else
                ["process-cold", "process-spare"]
                + (["inprocess-tf-preloaded", "inprocess-cold"] if args.baseline_root else []))
    results: dict[str, list[dict]] = {v: [] for v in variants}
    crashes: dict[str, int] = {}
    for _ in range(args.runs):
        for v in variants:
            r = trial(v, args.data, args.epochs, runs_dir, args.think, args.baseline_root)
            if "crashed" in r:
                crashes[v] = crashes.get(v, 0) + 1
                continue
            results[v].append(r)
            print(f"  {v}: first batch {r['first_batch_s']:.2f} s, first epoch "
                  f"{r['first_epoch_s']:.2f} s, end {r['end_s']:.2f} s, ok {r['ok']}", flush=True)
    if args.follow_trials:
        lags, writes = [], []
        for _ in range(args.follow_trials):
            r = trial("follow", args.data, max(args.epochs, 3), runs_dir, 0, None)
            lags += r.get("lags", [])
            writes += r.get("from_write", [])
            print(f"  follow: epoch shown {', '.join(f'{v:.2f}' for v in r.get('from_write', []))} "
                  f"s after the history file was written; "
                  f"{', '.join(f'{v:+.2f}' for v in r.get('lags', []))} s after the trainer's "
                  f"epoch event", flush=True)
        if writes:
            p50 = common.percentiles(writes, (50,))[0]
            print(f"\nFollowed run (file watcher + 2 s re-scan), {len(writes)} epochs: shown "
                  f"{p50:.2f} s (median), {max(writes):.2f} s (max) after the history file was written; "
                  f"{common.percentiles(lags, (50,))[0]:+.2f} s (median) after the trainer's epoch "
                  f"event (which follows the checkpoint)")
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
