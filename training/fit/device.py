"""Which compute device TensorFlow will use, with GPU memory growth turned on once, and
why an NVIDIA GPU goes unused when the machine has one.

Memory growth must be set before TensorFlow initialises the GPUs (the first op or model
build does that), so call :func:`describe_devices` early: the CLI and ``train()`` do,
and the compute service (``python -m training.service``) does at start. With growth on,
a process takes GPU memory as it needs it instead of nearly all of it at once, so the
app's compute service and a training process can share one GPU.

:func:`gpu_missing_reason` says, in words a person can act on, what is missing when an
NVIDIA driver is loaded but TensorFlow sees no GPU (the status bar and the Training panel
show it). :func:`explain_missing_gpu` is its pure rule, testable without a GPU.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading

_lock = threading.Lock()
_cached: dict | None = None

NVIDIA_PROC_VERSION = "/proc/driver/nvidia/version"
# The optional extra in pyproject.toml that pulls TensorFlow's CUDA libraries from PyPI.
GPU_INSTALL_HINT = ("pip install -e '.[gpu]' (or pip install 'tensorflow[and-cuda]') into "
                    "the app's .venv, then restart the app")


def describe_devices() -> dict:
    """Detect devices and enable GPU memory growth (once per process).

    Returns:
        ``{"name": "<first GPU's name>" or "CPU", "gpus": [names], "tensorflow": version,
        "memory_growth": bool, "warnings": [str], "driver": str | None,
        "gpu_missing": str | None, "threads": {cpus, intra_op, inter_op, source, applied}}``
        (``driver``: the NVIDIA driver found without TensorFlow; ``gpu_missing``: why
        TensorFlow does not use it; ``threads``: ``training.cpus.configure_threads``). Cached.
    """
    global _cached
    with _lock:
        if _cached is None:
            _cached = _detect()
        return {**_cached, "gpus": list(_cached["gpus"]), "warnings": list(_cached["warnings"]),
                "threads": dict(_cached["threads"])}


def has_gpu() -> bool:
    return bool(describe_devices()["gpus"])


def nvidia_driver(proc_file: str = NVIDIA_PROC_VERSION) -> str | None:
    """The loaded NVIDIA driver in one line ("NVIDIA driver 550.54.14"), or None.

    Needs no TensorFlow: the kernel module's ``/proc`` file on Linux, else ``nvidia-smi``
    (Windows, or a container that hides ``/proc/driver``), with a short timeout.
    """
    try:
        with open(proc_file, encoding="utf-8", errors="replace") as f:
            first = f.readline()
    except OSError:
        first = ""
    if first:
        # "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ..."
        parts = first.split("Kernel Module")
        version = parts[1].split()[0] if len(parts) > 1 and parts[1].split() else ""
        return f"NVIDIA driver {version}".strip()
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=driver_version,name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
    if not line:
        return None
    version, _, name = (v.strip() for v in line.partition(","))
    return f"NVIDIA driver {version}" + (f" ({name})" if name else "")


def explain_missing_gpu(driver: str | None, gpus: list, build: dict, platform: str = sys.platform,
                        cuda_libs: bool | None = None) -> str | None:
    """Why TensorFlow uses no GPU although ``driver`` is loaded, or None when nothing is missing.

    Args:
        driver: :func:`nvidia_driver`'s answer (None: no NVIDIA driver, nothing to explain).
        gpus: the GPUs TensorFlow sees.
        build: ``tf.sysconfig.get_build_info()`` (``is_cuda_build``, ``cuda_version``,
            ``cudnn_version``).
        platform: ``sys.platform``.
        cuda_libs: whether the pip CUDA libraries (``nvidia-*-cu12``) are installed
            (None: unknown).
    """
    if not driver or gpus:
        return None
    if platform == "darwin":
        return f"{driver} found, but TensorFlow has no NVIDIA GPU support on macOS: training uses the CPU."
    if platform.startswith("win"):
        return (f"{driver} found, but TensorFlow 2.11 and later use NVIDIA GPUs on Linux only "
                "(on Windows, run the app inside WSL2): training uses the CPU.")
    if not build.get("is_cuda_build"):
        return (f"{driver} found, but this TensorFlow was built without CUDA: training uses the CPU. "
                f"Install the GPU build: {GPU_INSTALL_HINT}.")
    cuda, cudnn = build.get("cuda_version") or "?", build.get("cudnn_version") or "?"
    if cuda_libs is False:
        return (f"{driver} found, but TensorFlow's CUDA {cuda} and cuDNN {cudnn} libraries are not "
                f"installed: training uses the CPU. Install them: {GPU_INSTALL_HINT}.")
    return (f"{driver} found, but TensorFlow could not use it (it needs CUDA {cuda} and cuDNN {cudnn}; "
            "the driver may be older than that CUDA needs, or the libraries are not on the library "
            f"path): training uses the CPU. Try: {GPU_INSTALL_HINT}; the log has TensorFlow's own message.")


def gpu_missing_reason() -> str | None:
    """:func:`explain_missing_gpu` for this machine (imports TensorFlow when a driver is
    present; cached with :func:`describe_devices`)."""
    return describe_devices().get("gpu_missing")


def _cuda_libs_installed() -> bool | None:
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python 3.11 always has it
        return None
    names = {(d.metadata.get("Name") or "").lower() for d in metadata.distributions()}
    return any(n.startswith("nvidia-cudnn") for n in names) and any(
        n.startswith("nvidia-cuda-runtime") for n in names)


def _detect() -> dict:
    from training.cpus import configure_threads

    threads = configure_threads()  # before TensorFlow's first op, which fixes its pools
    import tensorflow as tf

    warnings: list[str] = []
    names: list[str] = []
    growth = False
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            # Without this TensorFlow reserves nearly all GPU memory for the first run,
            # and a second process (a training beside the app's compute service) fails
            # to allocate.
            tf.config.experimental.set_memory_growth(gpu, True)
            growth = True
        except (RuntimeError, ValueError) as exc:  # already initialised: keep going
            warnings.append(f"Could not enable memory growth on {gpu.name}: {exc}")
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # noqa: BLE001  (details are cosmetic; never fail detection)
            details = {}
        names.append(details.get("device_name") or gpu.name)
    driver = nvidia_driver()
    missing = None
    if driver and not names:
        try:
            build = dict(tf.sysconfig.get_build_info())
        except Exception:  # noqa: BLE001  (an odd build: explain with what we know)
            build = {}
        missing = explain_missing_gpu(driver, names, build, cuda_libs=_cuda_libs_installed())
    return {"name": names[0] if names else "CPU", "gpus": names,
            "tensorflow": tf.__version__, "memory_growth": growth, "warnings": warnings,
            "driver": driver, "gpu_missing": missing, "threads": threads}
