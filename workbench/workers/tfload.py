"""Import TensorFlow once, from one thread at a time.

Two workers importing TensorFlow at the same moment (the device probe and the model
summary, say) make TensorFlow register its ops twice and fail with "Registering two
gradient with name 'ReduceDataset'" (seen here at start-up). Every worker that needs
TensorFlow or Keras calls :func:`ensure_tensorflow` first, inside ``work()``.
"""
from __future__ import annotations

import sys
import threading


_lock = threading.Lock()


def ensure_tensorflow() -> None:
    """Import ``tensorflow`` and ``keras`` under a process-wide lock (fast once loaded)."""
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return
    with _lock:
        if "keras" in sys.modules and "tensorflow" in sys.modules:
            return  # another worker imported them while this one waited
        # ~1 M objects that live until exit: the GUI thread's collector freezes them at
        # its next tick (workbench/collector.py), so no collection walks them.
        import tensorflow  # noqa: F401
        import keras  # noqa: F401
