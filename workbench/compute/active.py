"""The "Label next" loop's compute request: one active-learning round in the service."""
from __future__ import annotations

from training.active.strategies import DEFAULT_STRATEGY
from workbench.compute.jobs import ServiceJob


class ActiveRoundJob(ServiceJob):
    """Train the suggestion model on the labels so far and rank the unlabelled images
    (``active_round``, ``training/service/handlers/active.py``).

    Args:
        paths: every image of the dataset, in a stable order.
        labels: per path its class name, or None (unlabelled).
        classes: the class names.
        input_size, color_mode: the dataset's images.
        batch: labels given before the next round (``badge``/``diverse`` spread the first ``batch``).

    ``finished`` carries ``{items, point, strategy, pool, seconds, model}``.
    """

    method = "active_round"
    # Its labels are in the request: no wait for the overlay writer, which took up to
    # ~35 ms of the GUI thread when a round started while a key was held.
    reads_labels_on_disk = False

    def __init__(self, paths: list[str], labels: list, classes: list[str], input_size=(64, 64),
                 color_mode: str = "rgb", strategy: str = DEFAULT_STRATEGY, count: int = 50, seed: int = 0,
                 batch: int | None = None, client=None) -> None:
        super().__init__({"paths": list(paths), "labels": list(labels), "classes": list(classes),
                          "input_size": [int(v) for v in input_size], "color_mode": color_mode,
                          "strategy": strategy, "count": int(count), "seed": int(seed),
                          "batch": batch}, client=client)
