"""Keep Python's cyclic garbage collector from stalling the GUI thread.

A full (generation 2) collection walks every object the collector tracks and holds the
GIL while it does, so it stalls the GUI thread whichever thread triggered it. Once
TensorFlow is imported a full collection takes ~200 ms here: it was the largest GUI stall
left while training (``bench/gui_responsiveness.py`` reports every collection).

The objects made by big imports (TensorFlow, Keras, matplotlib, the panels) live until
the process ends, so after each such step :func:`freeze_long_lived` moves them out of the
collector's sight with :func:`gc.freeze`. Reference counting still frees them; only
cycles among them are never collected, and these are module-level objects that never die.
"""
from __future__ import annotations

import gc


def freeze_long_lived() -> None:
    """Exclude every object alive now from future collections (cheap: no traversal)."""
    gc.freeze()
