"""Loaded models kept warm between requests: a small LRU of predictors, one per run.

Loading a run's Keras model (safe mode) and tracing its call costs ~0.3-2 s; the second
photo of a run must not pay it again. An entry is keyed by the path the app names (a run
folder, a ``.keras`` file or an exported model) and remembers the model file's size and
modification time: when training or a resume rewrites the run's model, the next request
loads the new one. Whatever else a handler derives from a model (the Grad-CAM explainer)
lives in the entry's ``extras`` and goes with it.

One lock serialises loading: two threads building Keras models at once is what crashed
the app when this lived in the window's process.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CAPACITY = 3   # runs kept warm: the Results run, the Classify run and one compared


@dataclass
class Warm:
    predictor: object
    stamp: tuple
    extras: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)   # one use of the model at a time


def model_stamp(path: str) -> tuple:
    """What changes when the model behind ``path`` is rewritten: (file, size, mtime)."""
    from training.runs.runfolder import RunError, RunFolder

    target = path
    if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "saved_model.pb")):
        try:
            target = str(RunFolder(path).model_file("final"))
        except RunError:
            target = path   # the predictor says what is missing
    try:
        st = os.stat(target)
    except OSError:
        return (target, None, None)
    return (target, st.st_size, st.st_mtime_ns)


class WarmModels:
    """``get(path)`` -> :class:`Warm` (loading it if needed), at most ``capacity`` kept."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, Warm] = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0   # how many times a model was (re)loaded: the tests read it

    def get(self, path: str) -> Warm:
        from training.export.predictor import open_predictor

        key = os.path.abspath(path)
        stamp = model_stamp(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.stamp == stamp:
                self._entries.move_to_end(key)
                return entry
            if entry is not None:
                log.info("The model of %s changed on disk: loading it again", key)
                del self._entries[key]
            predictor = open_predictor(key)
            self.loads += 1
            entry = Warm(predictor, stamp)
            self._entries[key] = entry
            while len(self._entries) > self.capacity:
                old, _ = self._entries.popitem(last=False)
                log.info("Let go of the model of %s (%d kept warm)", old, self.capacity)
            return entry

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


MODELS = WarmModels()
