"""The random streams of a model's layers, saved with each epoch checkpoint.

Keras keeps the state of every random layer (augmentation, dropout) in a
``SeedGenerator`` variable that advances with each call, but a ``.keras`` file does not
restore it: a loaded model starts its streams afresh (checked with Keras 3.15: the loaded
``seed_generator_state`` values were new seeds at step 0). So a resumed run would augment
and drop out differently from the uninterrupted one. The states are a few integers per
layer; they travel in ``run.json``'s checkpoint and are put back after loading
(issue 21: resume equals uninterrupted).
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

STATE_NAME = "seed_generator_state"


def _states(model) -> list:
    return [v for v in model.variables if v.name == STATE_NAME]


def seed_states(model) -> list[list[int]]:
    """Every random layer's stream state, in the model's variable order."""
    import numpy as np

    return [np.asarray(v.numpy()).astype("int64").tolist() for v in _states(model)]


def restore_seed_states(model, states) -> bool:
    """Put saved :func:`seed_states` back; False (and a log line) when they don't fit."""
    import numpy as np

    variables = _states(model)
    if not isinstance(states, list) or len(states) != len(variables):
        if states:
            log.warning("Checkpoint has %s random-layer states for %d layers; the resumed run's "
                        "augmentation will differ from an uninterrupted one",
                        len(states) if isinstance(states, list) else "no", len(variables))
        return False
    for v, s in zip(variables, states):
        v.assign(np.asarray(s, dtype=v.dtype))
    return True
