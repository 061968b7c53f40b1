"""Where a CSV's images live when nobody said: the folder that holds the ids it lists.

Real layouts put the images beside the CSV, in a folder named like the CSV's stem
(Kaggle's ``train.csv`` + ``train/``), in ``images/``, or in the one other folder next
to it (``labels.csv`` + ``photos/``). Each candidate is listed once and tried against a
sample of the ids (with or without extension); the first that holds them all wins, else
the one holding the most. When none holds any, :class:`ImagesFolderNotFound` names every
folder tried, so the CLI can print it and the GUI can ask for the folder.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .scan import entry_is_dir, list_dir
from .spec import DatasetError

PREFERRED = ("images", "imgs", "img", "pictures", "photos", "train")
SAMPLE = 50  # ids tried per folder: enough to tell, cheap on a CSV of a million rows


class ImagesFolderNotFound(DatasetError):
    """No folder near the CSV holds the images it lists. ``tried``: the folders looked in;
    ``columns``: the CSV's header, so a dialog can ask for the columns and the folder."""

    def __init__(self, message: str, tried: Sequence[str], columns: Sequence[str]):
        super().__init__(message)
        self.tried = list(tried)
        self.columns = list(columns)


def candidate_folders(csv_path: str) -> list[str]:
    """Folders to look in, most likely first: the CSV's own, its stem's, the usual names,
    then every other sibling folder (hidden ones skipped)."""
    folder = os.path.dirname(os.path.abspath(csv_path))
    stem = os.path.splitext(os.path.basename(csv_path))[0].lower()
    siblings = sorted((e for e in list_dir(folder, []) if entry_is_dir(e)
                       and not e.name.startswith(".")), key=lambda e: e.name.lower())
    by_lower = {e.name.lower(): e.path for e in siblings}
    ordered = [folder]
    for name in (stem, *PREFERRED):
        if name in by_lower and by_lower[name] not in ordered:
            ordered.append(by_lower[name])
    ordered += [e.path for e in siblings if e.path not in ordered]
    return ordered


def find_images_dir(csv_path: str, ids: Sequence[str], make_resolver: Callable,
                    columns: Sequence[str]) -> str:
    """The folder holding the images ``ids`` name (see the module docstring).

    ``make_resolver(folder)`` returns ``(resolve(id) -> path | None, files)``.
    """
    sample = [i for i in ids if i][:SAMPLE]
    tried, best, best_hits = [], None, 0
    for folder in candidate_folders(csv_path):
        tried.append(folder)
        resolve, _ = make_resolver(folder)
        hits = sum(resolve(i) is not None for i in sample)
        if sample and hits == len(sample):
            return folder
        if hits > best_hits:
            best, best_hits = folder, hits
    if best is not None:
        return best
    name = os.path.basename(csv_path)
    shown = ", ".join(tried)
    example = f" (for example {sample[0]!r})" if sample else ""
    raise ImagesFolderNotFound(
        f"Cannot find the images that {name} lists{example}. Folders tried: {shown}. "
        f"Choose the images folder (--images DIR on the command line).", tried, columns)
