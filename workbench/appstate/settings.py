"""Remembered UI state (``QSettings``): window geometry, splitters, last folders,
recent datasets and runs, current panel, last model spec. The recent lists are kept in a
JSON file of their own, written off the GUI thread (:mod:`workbench.appstate.recent`).

Only UI state lives here (Qt's "application" example does the same); specs and configs
are dataclasses saved as JSON by the core. With ``WORKBENCH_SETTINGS_DIR`` set (tests do),
settings go to an INI file in that folder so tests never touch the user's settings.
"""
from __future__ import annotations

import json
import os

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from workbench.appstate.recent import recent_file

ORG = "ImageWorkbench"
APP = "Image Classification Workbench"
MAX_RECENT = 8


_Loc = QStandardPaths.StandardLocation
# The first folder a dialog offers, by purpose (the user's own folders, as file managers
# name them); a purpose not listed starts in Documents.
PLACES = {
    "dataset": _Loc.PicturesLocation,    # File → Open dataset…
    "photos": _Loc.PicturesLocation,     # Classify → Open photos… / Open folder…
    "csv": _Loc.DocumentsLocation,       # Classify → Export CSV…
    "spec": _Loc.DocumentsLocation,      # Model → Save/Load spec…
    "model_file": _Loc.DocumentsLocation,  # Classify → Model file… (an exported model)
    "weights": _Loc.DownloadLocation,    # Model → backbone weights file…
}
RUN_PURPOSES = ("run", "follow")         # these start in the runs folder


def default_folder(purpose: str) -> str:
    """The folder a dialog for ``purpose`` offers the first time (one that exists)."""
    if purpose in RUN_PURPOSES:
        from training.runs.runfolder import default_runs_root

        root = str(default_runs_root())
        if os.path.isdir(root):
            return root
    for location in (PLACES.get(purpose, _Loc.DocumentsLocation), _Loc.HomeLocation):
        folder = QStandardPaths.writableLocation(location)
        if folder and os.path.isdir(folder):
            return folder
    return os.path.expanduser("~")


class Settings:
    """Typed accessors over one ``QSettings`` store."""

    def __init__(self) -> None:
        folder = os.environ.get("WORKBENCH_SETTINGS_DIR")
        if folder:
            os.makedirs(folder, exist_ok=True)
            self._s = QSettings(os.path.join(folder, "workbench.ini"), QSettings.Format.IniFormat)
        else:
            self._s = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)
        # Beside the settings file: "workbench.ini" -> "workbench.recent.json".
        self._recent = recent_file(os.path.splitext(self._s.fileName())[0] + ".recent.json",
                                   legacy=lambda key: self._list(f"recent/{key}"), limit=MAX_RECENT)

    # -- raw values -------------------------------------------------------------------
    def value(self, key: str, default=None):
        v = self._s.value(key, default)
        return default if v is None else v

    def set_value(self, key: str, value) -> None:
        self._s.setValue(key, value)

    def sync(self) -> None:
        self._s.sync()
        self._recent.flush()

    # -- byte states (geometry, splitters) ----------------------------------------------
    def bytes_value(self, key: str) -> QByteArray | None:
        v = self._s.value(key)
        return v if isinstance(v, QByteArray) and not v.isEmpty() else None

    # -- lists -----------------------------------------------------------------------
    def _list(self, key: str) -> list[str]:
        # IniFormat stores a one-element list as a plain string; JSON keeps it a list.
        raw = self._s.value(key, "[]")
        try:
            items = json.loads(raw) if isinstance(raw, str) else list(raw)
        except (ValueError, TypeError):
            return []
        return [str(i) for i in items if isinstance(i, str)]

    # The recent lists: in memory, written on the pool (never a QSettings sync at a run's end).
    def recent_datasets(self) -> list[str]:
        return self._recent.items("datasets")

    def add_recent_dataset(self, path: str) -> None:
        self._recent.push("datasets", os.path.abspath(path))

    def recent_runs(self) -> list[str]:
        return self._recent.items("runs")

    def add_recent_run(self, path: str) -> None:
        self._recent.push("runs", os.path.abspath(path))

    # -- last folders (per dialog purpose) ----------------------------------------------------
    def last_folder(self, purpose: str) -> str:
        """Where the file dialog for ``purpose`` starts: the folder last chosen in it, else
        :func:`default_folder` (never the current directory: the app is started from its
        source checkout, and an export would land in the repository)."""
        folder = str(self.value(f"folders/{purpose}", "") or "")
        return folder if folder and os.path.isdir(folder) else default_folder(purpose)

    def set_last_folder(self, purpose: str, path: str) -> None:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        self.set_value(f"folders/{purpose}", folder)

    # -- last model spec (JSON text of ModelSpec.to_dict()) ----------------------------
    def json_value(self, key: str) -> dict | None:
        """The JSON object stored under ``key``, or None (missing or unreadable)."""
        raw = self.value(key, "")
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, TypeError):
            return None
        return data if isinstance(data, dict) else None

    def last_spec(self) -> dict | None:
        return self.json_value("model/last_spec")

    def set_last_spec(self, spec_dict: dict | None) -> None:
        self.set_value("model/last_spec", json.dumps(spec_dict) if spec_dict else "")


def ensure_model_state(state, settings: "Settings") -> None:
    """Give ``state`` a training config and a model spec if it has none: the last spec
    the user worked on (saved on exit), else the Auto choice. A stale or damaged saved
    spec falls back to the default rather than stopping the app."""
    if state.train_config is None:
        from training.recipe.config import TrainConfig
        from workbench.appstate.session_restore import last_auto_epochs, last_train_config

        state.train_config = last_train_config(settings) or TrainConfig()
        state.auto_epochs = last_auto_epochs(settings)
    if state.model_spec is None:
        from training.recipe.auto import placeholder
        from training.models import ModelSpec

        spec = None
        saved = settings.last_spec()
        if saved:
            try:
                spec = ModelSpec.from_dict(saved)
            except Exception:  # noqa: BLE001 - see docstring
                spec = None
        state.model_spec = spec or placeholder()  # Auto: chosen again once a dataset opens
