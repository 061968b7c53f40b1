"""``ping``: is the service alive, which process, which models are warm. No TensorFlow."""
from __future__ import annotations

import os

from training.service.models import MODELS
from training.service.registry import handler


@handler("ping", tensorflow=False)
def ping(request) -> dict:
    import sys

    return {"pid": os.getpid(), "warm": MODELS.keys(), "loads": MODELS.loads,
            "tensorflow_loaded": "tensorflow" in sys.modules}
