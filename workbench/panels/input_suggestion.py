"""When the dataset's suggested input size and colour mode replace the model's.

A new user who typed 64 × 64 and then changed the validation fraction saw it silently
reset to the suggestion (20 × 20): re-splitting re-indexes the same dataset. The rule now:
the suggestion applies when a *different* dataset opens and the user has not set the
input themselves (typed a size, picked a colour mode); otherwise it is only a hint,
which the Model panel shows with a "Use it" link. Choosing a template again, or using
the hint, hands the input back to the suggestions.
"""
from __future__ import annotations

import os

TEMPLATES_WITH_FREE_INPUT = ("mlp", "cnn")   # transfer models keep their backbone's size


class SuggestionPolicy:
    def __init__(self) -> None:
        self.dataset_key: str | None = None   # the dataset the last decision was about
        self.user_set = False                 # the user set the input since then

    def user_edited(self) -> None:
        self.user_set = True

    def template_chosen(self) -> None:
        self.user_set = False

    def applied(self) -> None:
        self.user_set = False

    def should_apply(self, index, spec, suggestion) -> bool:
        """True when ``suggestion`` should replace ``spec``'s input for dataset ``index``."""
        key = _dataset_key(index)
        new_dataset = key != self.dataset_key
        self.dataset_key = key
        if not (new_dataset and suggestion and spec is not None and not self.user_set):
            return False
        if spec.template not in TEMPLATES_WITH_FREE_INPUT:
            return False
        (h, w), mode = suggestion
        return (tuple(spec.input_size), spec.color_mode) != ((int(h), int(w)), mode)


def _dataset_key(index) -> str | None:
    root = getattr(index, "root", None)
    return os.path.abspath(str(root)) if root else None
