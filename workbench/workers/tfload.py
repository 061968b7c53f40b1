"""Import TensorFlow once, from one thread at a time.

Two workers importing TensorFlow at the same moment (the device probe and the model
summary, say) make TensorFlow register its ops twice and fail with "Registering two
gradient with name 'ReduceDataset'" (seen here at start-up). Every worker that needs
TensorFlow or Keras calls :func:`ensure_tensorflow` first, inside ``work()``.
"""
from __future__ import annotations

import sys
import threading

from workbench.interpreter import long_lived_objects

_lock = threading.Lock()


def ensure_tensorflow() -> None:
    """Import ``tensorflow`` and ``keras`` under a process-wide lock (fast once loaded)."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with _lock:
        if "keras" in sys.modules and "tensorflow" in sys.modules:
            return  # another worker imported them while this one waited
        # ~1 M objects that live until exit: collections over them took 100-200 ms with
        # the GIL held, stalling the GUI thread (see workbench/interpreter.py).
        with long_lived_objects():
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
