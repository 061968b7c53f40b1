"""Import TensorFlow once, from one thread at a time.

Two workers importing TensorFlow at the same moment (the device probe and the model
summary, say) make TensorFlow register its ops twice and fail with "Registering two
gradient with name 'ReduceDataset'" (seen here at start-up). Every worker that needs
TensorFlow or Keras calls :func:`ensure_tensorflow` first, inside ``work()``.
"""
from __future__ import annotations

import sys
import threading

from workbench.heap import freeze_long_lived

_lock = threading.Lock()


def ensure_tensorflow() -> None:
    """Import ``tensorflow`` and ``keras`` under a process-wide lock (fast once loaded)."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with _lock:
        if "keras" in sys.modules and "tensorflow" in sys.modules:
            return  # another worker imported them while this one waited
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
        # ~1 M long-lived objects: keep full collections (~200 ms each) from walking them.
        freeze_long_lived()
