"""Step times of one device, two logical devices (MirroredStrategy) and two loopback
workers (MultiWorkerMirroredStrategy), side by side on the same data (issue 15).

Each configuration runs in its own process (logical devices and a cluster must be set
up before TensorFlow starts), trains the bundled Fashion-MNIST sample for 3 epochs with
the CNN template at the same *per-replica* batch, and reports the median epoch time of
epochs 2-3 (epoch 1 includes tracing) per step and per image, relative to one device
(plain Keras ``Model.fit``). On CPUs the replicas share the same cores, so expect no
speed-up: the point on a small machine is that the distributed paths are correct and
what they cost. On real GPUs run it with ``--devices all`` to add an all-GPU row.

    python bench/distributed_steps.py [--data resources/sample] [--batch 32] [--epochs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from training.runs.runfolder import RunFolder  # the checkout's core, as the CLI runs it

LOGICAL = r"""
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from training.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _env(extra=None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    env.update(extra or {})
    return env


def _train_args(args, out: Path, *more) -> list[str]:
    return ["train", args.data, "--model", "cnn", "--epochs", str(args.epochs), "--batch-size",
            str(args.batch), "--no-early-stopping", "--seed", "1", "--out", str(out), "--json",
            *more]


def _result(out: Path, name: str, wall: float, replicas: int, args) -> dict:
    run = RunFolder(out).load()
    history = RunFolder(out).history()
    seconds = [h["seconds"] for h in history[1:]] or [history[0]["seconds"]]
    n_train = int(run.get("num_train") or 0)
    global_batch = args.batch * replicas
    steps = -(-n_train // global_batch)
    epoch = statistics.median(seconds)
    return {"config": name, "replicas": replicas, "global_batch": global_batch,
            "steps_per_epoch": steps, "epoch_s": epoch, "ms_per_step": 1000 * epoch / steps,
            "images_per_s": n_train / epoch, "wall_s": wall,
            "val_accuracy": history[-1].get("val_accuracy")}


def run_one(args, tmp: Path) -> dict:
    out = tmp / "one"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training", *_train_args(args, out)], cwd=ROOT,
                   env=_env(), check=True, capture_output=True, timeout=args.timeout)
    return _result(out, "one device (Keras fit)", time.perf_counter() - t, 1, args)


def run_logical(args, tmp: Path) -> dict:
    out = tmp / "logical"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", LOGICAL,
                    *_train_args(args, out, "--devices", "CPU:0,CPU:1")], cwd=ROOT,
                   env=_env({"CUDA_VISIBLE_DEVICES": "-1"}), check=True, capture_output=True,
                   timeout=args.timeout)
    return _result(out, "two logical devices (Mirrored)", time.perf_counter() - t, 2, args)


def run_gpus(args, tmp: Path) -> dict:
    out = tmp / "gpus"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training", *_train_args(args, out, "--devices", "all")],
                   cwd=ROOT, env=_env(), check=True, capture_output=True, timeout=args.timeout)
    run = RunFolder(out).load()
    replicas = int((run.get("distribution") or {}).get("replicas") or 1)
    return _result(out, f"all GPUs ({replicas})", time.perf_counter() - t, replicas, args)


def run_workers(args, tmp: Path) -> dict:
    out = tmp / "workers"
    ports = _ports(2)
    procs = []
    t = time.perf_counter()
    try:
        for i in range(2):
            conf = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                               "task": {"type": "worker", "index": i}})
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "training",
                 *_train_args(args, out, "--strategy", "multi-worker")], cwd=ROOT,
                env=_env({"TF_CONFIG": conf, "CUDA_VISIBLE_DEVICES": "-1"}),
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for p in procs:
            _, err = p.communicate(timeout=args.timeout)
            if p.returncode:
                raise RuntimeError(f"worker failed: {err.decode()[-2000:]}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return _result(out, "two workers (MultiWorkerMirrored)", time.perf_counter() - t, 2, args)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT / "resources" / "sample"))
    p.add_argument("--batch", type=int, default=32, help="per-replica batch")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("--devices", choices=("cpu", "all"), default="cpu",
                   help="all: also train on every GPU (MirroredStrategy)")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dist-") as tmp:
        runners = [run_one, run_logical, run_workers] + ([run_gpus] if args.devices == "all" else [])
        for fn in runners:
            rows.append(fn(args, Path(tmp)))
            print(json.dumps(rows[-1]), file=sys.stderr)
    base = rows[0]["ms_per_step"] / rows[0]["global_batch"]
    print(f"{'configuration':34} {'global batch':>12} {'ms/step':>8} {'img/s':>8} "
          f"{'ms/img vs one':>13} {'val acc':>7}")
    for r in rows:
        ratio = (r["ms_per_step"] / r["global_batch"]) / base
        acc = "-" if r["val_accuracy"] is None else f"{r['val_accuracy']:.3f}"
        print(f"{r['config']:34} {r['global_batch']:>12} {r['ms_per_step']:>8.1f} "
              f"{r['images_per_s']:>8.0f} {ratio:>12.2f}x {acc:>7}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS of one process: {peak:.0f} MB; cpu cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
