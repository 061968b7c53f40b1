"""Interpreter settings that keep the GUI thread responsive next to busy Python workers.

Every call from Qt's event loop into Python (a slot, a model's ``data()``, a paint) must
take the GIL first. Two things made those takes slow here:

* **The switch interval.** A thread that wants the GIL waits until the holder's slice
  ends: 5 ms by default. Painting one page of thumbnails makes ~500 such calls, and with
  one busy Python thread (a chart render, Keras' Python side, decoding glue) a page-down
  then left the GUI thread 134 ms late at the median. With 1 ms
  (:func:`tune_for_gui`) the median was 0 ms (``bench/browser_scale.py``). The cost is
  more switches between busy Python threads; TensorFlow's own work runs without the GIL.
* **Garbage collection.** A collection holds the GIL while it walks the objects of its
  generations, so it stalls the GUI thread whichever thread triggered it. Once
  TensorFlow is imported a full collection took ~200 ms, the largest stall left while
  training (``bench/gui_responsiveness.py`` reports every collection). The objects made
  by big imports (TensorFlow, Keras, matplotlib) and by building the panels live until
  the process ends, so they are moved out of the collector's sight with
  :func:`gc.freeze`. Reference counting still frees them; only cycles among them are
  never collected, and these are module-level objects that never die.
"""
from __future__ import annotations

import contextlib
import gc
import sys

GUI_SWITCH_INTERVAL_S = 0.001


def tune_for_gui() -> None:
    """Shorten the GIL switch interval (see the module docstring). Process-wide."""
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)


def freeze_long_lived() -> None:
    """Exclude every object alive now from future collections (cheap: no traversal)."""
    gc.freeze()


@contextlib.contextmanager
def long_lived_objects():
    """Everything made inside the block lives until exit (a big import): no collections
    during it (each would walk an ever larger heap), and frozen at its end, *before*
    collections resume, since the first one would otherwise walk it all (141 ms here)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
