"""Which compute device TensorFlow will use, with GPU memory growth turned on once.

Memory growth must be set before TensorFlow initialises the GPUs (the first op or model
build does that), so call :func:`describe_devices` early: the CLI and ``train()`` do,
and the GUI calls it from its background start-up worker.
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_cached: dict | None = None


def describe_devices() -> dict:
    """Detect devices and enable GPU memory growth (once per process).

    Returns:
        ``{"name": "<first GPU's name>" or "CPU", "gpus": [names], "tensorflow": version,
        "memory_growth": bool, "warnings": [str], "threads": {cpus, intra_op, inter_op,
        source, applied}}`` (``training.cpus.configure_threads``). The result is cached.
    """
    global _cached
    with _lock:
        if _cached is None:
            _cached = _detect()
        return {**_cached, "gpus": list(_cached["gpus"]), "warnings": list(_cached["warnings"]),
                "threads": dict(_cached["threads"])}


def has_gpu() -> bool:
    return bool(describe_devices()["gpus"])


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
            # and a second run (or the GUI's prediction model) fails to allocate.
            tf.config.experimental.set_memory_growth(gpu, True)
            growth = True
        except (RuntimeError, ValueError) as exc:  # already initialised: keep going
            warnings.append(f"Could not enable memory growth on {gpu.name}: {exc}")
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # noqa: BLE001  (details are cosmetic; never fail detection)
            details = {}
        names.append(details.get("device_name") or gpu.name)
    return {"name": names[0] if names else "CPU", "gpus": names,
            "tensorflow": tf.__version__, "memory_growth": growth, "warnings": warnings,
            "threads": threads}
