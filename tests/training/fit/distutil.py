"""Helpers for the distributed tests: loopback clusters of real ``python -m training``
worker processes (127.0.0.1, free ports, no GPU), always killed on the way out."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cli_env(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="-1",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    env.update(extra or {})
    return env


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


@contextlib.contextmanager
def cluster(args: list[str], workers: int, tmp: Path):
    """Start ``workers`` processes of ``python -m training ARGS --strategy multi-worker``;
    yields the ``Popen`` list (stdout/stderr in ``tmp/worker<i>.{out,err}``) and kills
    whatever is still running when the block ends, however it ends."""
    ports = free_ports(workers)
    procs = []
    try:
        for i in range(workers):
            out = open(tmp / f"worker{i}.out", "w")
            err = open(tmp / f"worker{i}.err", "w")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "training", *map(str, args), "--strategy", "multi-worker"],
                cwd=ROOT, env=cli_env({"TF_CONFIG": tf_config(ports, i)}), stdout=out, stderr=err))
            out.close()
            err.close()
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


def wait_all(procs, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    codes = []
    for p in procs:
        codes.append(p.wait(timeout=max(1.0, deadline - time.monotonic())))
    return codes


def last_json(path: Path):
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    return json.loads(lines[-1]) if lines else None
