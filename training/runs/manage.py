"""Telling runs apart and managing them: the dataset each was trained on, a display name
and notes kept in ``run.json``, and deleting a run folder (only a run folder, never a
dataset).

``list_runs_labelled`` adds to each :func:`training.runs.listing.list_runs` row
``display_name``, ``notes``, ``dataset`` (the dataset folder's or file's name),
``dataset_path`` and ``num_images`` (how many images the run's dataset held), read from
``run.json`` and ``dataset.json``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from training.runs import listing as runs
from training.runs.runfolder import RunError, RunFolder

DISPLAY_NAME = "display_name"   # run.json field: the name the user gave the run
NOTES = "notes"                 # run.json field: free text
MAX_NAME = 200
MAX_NOTES = 20_000


def dataset_info(run_dir) -> dict:
    """``{"dataset", "dataset_path", "num_images"}`` from the run's dataset.json (``None``
    values when it is missing or unreadable)."""
    out = {"dataset": None, "dataset_path": None, "num_images": None}
    data = RunFolder(run_dir).read_dataset()
    if data is None:
        return out
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    path = spec.get("path")
    if isinstance(path, str) and path:
        out["dataset_path"] = path
        out["dataset"] = os.path.basename(os.path.normpath(path)) or path
    n = data.get("num_samples")
    if isinstance(n, int) and not isinstance(n, bool):
        out["num_images"] = n
    overlay = data.get("overlay")
    if isinstance(overlay, dict):  # the label fixes it learned from (issue 13: compare runs)
        fixes = sum(v for k in ("relabelled", "excluded")
                    if isinstance(v := overlay.get(k), int) and not isinstance(v, bool))
        if fixes:
            out["label_fixes"] = fixes
    return out


def dataset_label(row: dict) -> str:
    """``"sample (1,500 images)"``, ``"sample (1,498 images, 3 label fixes)"`` (a run
    trained with a label overlay), or ``"-"`` when the run does not say."""
    name, n = row.get("dataset"), row.get("num_images")
    if not name:
        return "-"
    fixes = row.get("label_fixes")
    parts = ([f"{n:,} images"] if isinstance(n, int) else []) + (
        [f"{fixes} label fix{'es' if fixes != 1 else ''}"] if fixes else [])
    return f"{name} ({', '.join(parts)})" if parts else name


def list_runs_labelled(root=None) -> list[dict]:
    """:func:`training.runs.listing.list_runs` plus names, notes and the dataset (see module doc)."""
    rows = runs.list_runs(root)
    for row in rows:
        row.update(dataset_info(row["path"]))
        row[DISPLAY_NAME], row[NOTES] = "", ""
        if row.get("status") == "invalid":
            continue
        try:
            info = RunFolder(row["path"]).read_info()
        except RunError:
            continue
        row[DISPLAY_NAME] = str(info.get(DISPLAY_NAME) or "")
        row[NOTES] = str(info.get(NOTES) or "")
        row["dataset_label"] = dataset_label(row)
    for row in rows:
        row.setdefault("dataset_label", dataset_label(row))
    return rows


def rename_run(run_dir, display_name: str) -> None:
    """Give the run a display name (an empty name removes it); the folder keeps its name."""
    if not isinstance(display_name, str):
        raise RunError(f"A run name must be text. Received: {display_name!r}")
    name = " ".join(display_name.split())
    if len(name) > MAX_NAME:
        raise RunError(f"A run name can have at most {MAX_NAME} characters. "
                            f"Received: {len(name)} characters")
    RunFolder(run_dir).edit_info(**{DISPLAY_NAME: name})


def set_notes(run_dir, notes: str) -> None:
    """Replace the run's notes (empty text removes them)."""
    if not isinstance(notes, str):
        raise RunError(f"Run notes must be text. Received: {notes!r}")
    if len(notes) > MAX_NOTES:
        raise RunError(f"Run notes can have at most {MAX_NOTES:,} characters. "
                            f"Received: {len(notes):,} characters")
    RunFolder(run_dir).edit_info(**{NOTES: notes.strip()})


def delete_run(run_dir) -> None:
    """Delete one run folder. Refused for a folder that is not a run, a run still
    training, and a folder that holds the run's own dataset (datasets are never deleted)."""
    run = RunFolder(run_dir).load()   # RunError when it is not a run folder
    if run.get("status") == "running":
        raise RunError(f"{run_dir} is still training; stop it before deleting it.")
    if Path(run_dir).is_symlink():   # a shared runs folder may link to someone else's run
        raise RunError(f"{run_dir} is a link to {os.path.realpath(run_dir)}; it is not deleted "
                       "(only a run folder itself is). Remove the link yourself if you meant to.")
    folder = Path(run_dir).resolve()
    dataset = dataset_info(run_dir).get("dataset_path")
    if dataset:
        ds = Path(dataset).expanduser().resolve()
        if ds == folder or folder in ds.parents:
            raise RunError(f"{run_dir} holds the dataset {dataset}; it is not deleted. "
                                "Move the dataset out first.")
    nested = [p.name for p in folder.iterdir() if p.is_dir() and RunFolder(p).is_run()]
    if nested:
        raise RunError(f"{run_dir} holds other runs ({', '.join(sorted(nested))}); it is not "
                            "deleted.")
    shutil.rmtree(folder)
