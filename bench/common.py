"""Shared helpers for the benchmark scripts: machine description, timing, tables, data.

Every benchmark prints a Markdown table (so it can be pasted into docs/BENCHMARKS.md) and
ends with one summary line. Ratios are always measured side by side in the same run of a
script; absolute times depend on the machine and on whatever else runs on it.
"""
from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "scripts")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import make_sample  # scripts/make_sample.py: IDX reader and PNG writer

SAMPLE_DIR = os.path.join(ROOT, "resources", "sample")
DEFAULT_DATA = os.path.join(tempfile.gettempdir(), "workbench-bench-fashion-png")


# --------------------------------------------------------------------------- machine
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def _gpus() -> list[str]:
    # nvidia-smi, not TensorFlow: describing the machine must not import TF (the GUI
    # benchmarks measure start-up without it).
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def machine() -> dict:
    """Cores, CPU model, RAM, GPUs and software versions, as a plain dict."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    versions = {"python": platform.python_version()}
    for mod in ("tensorflow", "keras", "PySide6", "numpy", "PIL"):
        try:
            from importlib.metadata import version
            versions[mod] = version({"PIL": "pillow", "PySide6": "PySide6"}.get(mod, mod))
        except Exception:  # noqa: BLE001 (a missing package is just not listed)
            pass
    return {"cores": os.cpu_count(), "usable_cores": affinity, "cpu": _cpu_model(),
            "ram_gb": round(_ram_gb(), 1), "gpus": _gpus() or ["none"],
            "os": f"{platform.system()} {platform.release()}", "versions": versions}


def machine_line() -> str:
    m = machine()
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items())
    return (f"Machine: {m['usable_cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
            f"GPU: {'; '.join(m['gpus'])}; {m['os']}; {v}\n{load_line()}")


def load_line() -> str:
    """The 1/5/15-minute load average: other work on the machine skews absolute times."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "Load average: unknown"
    return f"Load average (1/5/15 min): {one:.2f} / {five:.2f} / {fifteen:.2f} on {os.cpu_count()} cores"


# --------------------------------------------------------------------------- timing
class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False


def percentiles(values, qs=(50, 99)) -> list[float]:
    arr = np.asarray(values, dtype=float)
    return [float(np.percentile(arr, q)) if arr.size else float("nan") for q in qs]


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kb = resource.getrusage(who).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads). On a shared
    machine this varies far less than wall time: other processes take the cores, not
    this process's work."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


@contextmanager
def profiled(out: list[str] | None, top: int = 15, sort: str = "cumulative"):
    """Profile the block with cProfile; append the top entries as text to ``out``."""
    if out is None:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(sort).print_stats(top)
        out.append(buf.getvalue())


# --------------------------------------------------------------------------- output
def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value != 0 and abs(value) < 10 ** -digits:
            return f"{value:.1e}"  # a tiny difference must not print as 0.00
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table with aligned columns."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


# --------------------------------------------------------------------------- data
def write_fashion_pngs(out: str = DEFAULT_DATA, layout: str = "splits", limit: int | None = None,
                       src: str = make_sample.DEFAULT_SRC, held_out: str = "test") -> dict:
    """Write Fashion-MNIST as PNG class folders, or reuse a complete earlier copy.

    Args:
        out: target folder.
        layout: ``"splits"``: ``out/train/<class>/`` (the 60,000 training images) and
            ``out/<held_out>/<class>/`` (the 10,000 test images); ``"folders"``: all
            70,000 images in ``out/<class>/``.
        limit: write only the first ``limit`` training images (and ``limit // 6`` test
            images), for quick runs.
        src: folder with the IDX files.
        held_out: folder name for the test images in the ``"splits"`` layout.

    Returns:
        ``{"path": out, "train": n, "test": n, "seconds": s, "reused": bool}``.
    """
    marker = out.rstrip("/\\") + ".complete.json"
    want = {"layout": layout, "limit": limit, "held_out": held_out, "src": os.path.abspath(src)}
    if os.path.exists(marker) and os.path.isdir(out):
        with open(marker, encoding="utf-8") as f:
            done = json.load(f)
        if done.get("params") == want:
            return {**done["result"], "reused": True}
    if os.path.exists(out):
        # Only ever a folder this function made itself (it has our marker or is empty).
        if not os.path.exists(marker) and os.listdir(out):
            raise RuntimeError(f"{out} exists and was not written by this benchmark; pass another --data.")
        shutil.rmtree(out)
    if os.path.exists(marker):
        os.remove(marker)
    t0 = time.perf_counter()
    xtr, ytr = make_sample.load_fashion_mnist(src, "train")
    xte, yte = make_sample.load_fashion_mnist(src, "t10k")
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
        xte, yte = xte[:max(limit // 6, 10)], yte[:max(limit // 6, 10)]
    if layout == "splits":
        make_sample.write_png_folders(xtr, ytr, [f"{i:05d}" for i in range(len(xtr))],
                                      os.path.join(out, "train"), optimize=False)
        make_sample.write_png_folders(xte, yte, [f"{i:05d}" for i in range(len(xte))],
                                      os.path.join(out, held_out), optimize=False)
    elif layout == "folders":
        make_sample.write_png_folders(xtr, ytr, [f"train{i:05d}" for i in range(len(xtr))], out, optimize=False)
        make_sample.write_png_folders(xte, yte, [f"test{i:05d}" for i in range(len(xte))], out, optimize=False)
    else:
        raise ValueError(f"layout must be 'splits' or 'folders'. Received: layout={layout!r}")
    result = {"path": out, "train": int(len(xtr)), "test": int(len(xte)),
              "seconds": round(time.perf_counter() - t0, 1)}
    with open(marker, "w", encoding="utf-8") as f:
        json.dump({"params": want, "result": result}, f)
    return {**result, "reused": False}


# --------------------------------------------------------------------------- workers
def run_json_subprocess(argv: list[str], env: dict | None = None, timeout: float | None = None,
                        log_prefix: str = "") -> dict:
    """Run ``python argv…`` and return the JSON object on the last line of its stdout.

    Each measured variant runs in a fresh process so that TensorFlow state, memory and
    caches of one variant cannot help or hurt the next.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=ROOT)
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    if proc.returncode != 0 or not lines or not lines[-1].startswith("{"):
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"{log_prefix}{' '.join(argv)} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- GUI stalls
# Measuring the GUI thread (qt_probe, qt_wait, StallSampler, BusyPythonThread, GcPauses):
# bench/gui_stalls.py, re-exported here for the scripts that use them as common.<name>.
from bench.gui_stalls import BusyPythonThread, GcPauses, StallSampler, qt_probe, qt_wait  # noqa: F401


def lateness_row(name: str, late: list[float]) -> list:
    p50, p99 = percentiles(late, (50, 99))
    return [name, len(late), p50, p99, max(late) if late else float("nan"),
            sum(1 for v in late if v > 30), sum(1 for v in late if v > 100)]


LATENESS_HEADERS = ["phase", "ticks", "p50 late ms", "p99 late ms", "max late ms", "> 30 ms", "> 100 ms"]


def epoch_recorder():
    """A ``training.events.Events`` that records when the first batch ran and every
    epoch's metrics with a timestamp ``t`` (imported lazily: plain-Keras workers don't
    need the workbench)."""
    from training.events import Events

    class EpochRecorder(Events):
        def __init__(self):
            self.epochs, self.first_batch = [], None

        def on_batch(self, info):
            if self.first_batch is None:
                self.first_batch = time.perf_counter()

        def on_epoch(self, info):
            self.epochs.append(dict(info, t=time.perf_counter()))

    return EpochRecorder()
