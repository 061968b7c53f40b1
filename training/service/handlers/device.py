"""``device``: the compute device TensorFlow uses, and why a present NVIDIA GPU is not used."""
from __future__ import annotations

from training.service.registry import handler


@handler("device")
def device(request) -> dict:
    """``training.fit.device.describe_devices()``: name, gpus, tensorflow, memory_growth,
    warnings, driver, gpu_missing."""
    from training.fit.device import describe_devices

    return describe_devices()
