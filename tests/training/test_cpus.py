"""TensorFlow's thread pools come from the CPUs this process may use (issue 21 item 2):
the cgroup quota (v1 and v2, the smallest along the cgroup's ancestors) and the affinity
mask, not os.cpu_count(); and a run records the CPU it used during fit()."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.cpus import quota_cpus, thread_counts

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_the_smallest_along_the_ancestors(tmp_path):
    _write(tmp_path / "job" / "cpu.max", "max 100000\n")
    _write(tmp_path / "job" / "task" / "cpu.max", "150000 100000\n")
    assert quota_cpus(str(tmp_path), "0::/job/task\n") == pytest.approx(1.5)
    _write(tmp_path / "job" / "cpu.max", "50000 100000\n")  # a parent's quota limits its child
    assert quota_cpus(str(tmp_path), "0::/job/task\n") == pytest.approx(0.5)
    assert quota_cpus(str(tmp_path), "0::/elsewhere\n") is None


def test_cgroup_v1_quota_and_no_quota(tmp_path):
    _write(tmp_path / "cpu" / "docker" / "c1" / "cpu.cfs_quota_us", "300000\n")
    _write(tmp_path / "cpu" / "docker" / "c1" / "cpu.cfs_period_us", "100000\n")
    text = "4:memory:/docker/c1\n3:cpu,cpuacct:/docker/c1\n"
    assert quota_cpus(str(tmp_path), text) == pytest.approx(3.0)
    _write(tmp_path / "cpu" / "docker" / "c1" / "cpu.cfs_quota_us", "-1\n")  # unlimited
    assert quota_cpus(str(tmp_path), text) is None


def test_thread_counts_follow_the_cpus_and_the_override(monkeypatch):
    monkeypatch.delenv("WORKBENCH_THREADS", raising=False)
    assert thread_counts(3) == {"cpus": 3, "intra_op": 3, "inter_op": 3, "source": "given"}
    assert thread_counts(1)["inter_op"] == 2  # input pipeline and step side by side
    monkeypatch.setenv("WORKBENCH_THREADS", "5")
    assert thread_counts()["intra_op"] == 5 and thread_counts()["source"] == "WORKBENCH_THREADS"


CHILD = """
import json, sys
from training.cpus import configure_threads
applied = configure_threads()
import tensorflow as tf
tf.constant(1.0) + 1.0  # the first op: pools are fixed from here on
print(json.dumps({"applied": applied,
                  "intra": tf.config.threading.get_intra_op_parallelism_threads(),
                  "inter": tf.config.threading.get_inter_op_parallelism_threads()}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_process_pinned_to_one_cpu_gets_one_intra_op_thread():
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["applied"]["applied"] and got["applied"]["cpus"] == 1
    assert got["intra"] == 1 and got["inter"] == 2


def test_a_run_records_the_cpu_it_used_during_fit(tmp_path):
    from tests.imagegen import make_class_folder
    from tests.training.trainutil import tiny_spec
    from training.fit.train import train
    from training.recipe.config import TrainConfig
    from training.runs.runfolder import RunFolder

    data = make_class_folder(tmp_path / "data", per_class=6, size=8)
    train(str(data), tiny_spec("mlp", size=8), TrainConfig(epochs=1, batch_size=8),
          run_dir=str(tmp_path / "run"))
    timings = RunFolder(tmp_path / "run").load()["timings"]
    assert timings["train_cpu"] > 0 and 0 < timings["cpu_cores_in_fit"] <= os.cpu_count() + 0.5


BACKGROUND_CHILD = r"""
import json, os, sys, threading, time
from training.cpus import run_in_background
level = int(sys.argv[1])
stop = threading.Event()
before = threading.Thread(target=stop.wait)   # a thread that exists before (a BLAS pool's)
before.start()
now = run_in_background(level)
after = threading.Thread(target=stop.wait)    # one started later (TensorFlow's) inherits it
after.start()
time.sleep(0.05)
nice = {t.native_id: os.getpriority(os.PRIO_PROCESS, t.native_id) for t in (before, after)}
nice[threading.get_native_id()] = os.getpriority(os.PRIO_PROCESS, 0)
run_in_background(level)   # once: a second call lowers nothing more
again = os.getpriority(os.PRIO_PROCESS, 0)
stop.set()
print(json.dumps({"now": now, "nice": list(nice.values()), "again": again}))
"""


def _background_child(level: int) -> dict:
    out = subprocess.run([sys.executable, "-c", BACKGROUND_CHILD, str(level)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_run_in_background_lowers_every_thread_before_and_after_it_once():
    base = os.getpriority(os.PRIO_PROCESS, 0)   # tests run niced: lowered from there
    assert base <= 16, "the test runs at nice 17 or more: nothing to lower"
    for level, want in ((base + 3, base + 3),    # nice ``level`` ...
                        (base - 5, base + 1)):   # ... and always below the parent
        got = _background_child(level)
        assert got["now"] == want, (level, got)
        assert got["nice"] == [want] * 3, (level, got)
        assert got["again"] == want, (level, got)


def test_background_level_is_nice_10_and_below_the_window():
    from training.cpus import background_level

    assert background_level(0) == 10          # the app started normally
    assert background_level(10) == 11         # a niced window: the training one below it,
    assert background_level(15) == 16         # not at 19 where other niced work starves it
    assert background_level(19) == 19
    assert background_level(-5) == 10


def test_train_background_is_an_option_of_train():
    from training.cli.main import build_parser

    args = build_parser().parse_args(["train", "data", "--background"])
    assert args.background
    assert not build_parser().parse_args(["train", "data"]).background
