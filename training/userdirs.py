"""The user's per-app folders (cache, data, log), each overridable by an environment variable.

One table, so the cache, the label overlays' fallback home and the log file agree on how a
platform's folders are found (Windows: %LOCALAPPDATA% / %APPDATA%; macOS: ~/Library/...;
Linux: the XDG base directories).
"""
from __future__ import annotations

import os
import sys

APP = "image-workbench"

# kind: (override variable, (Windows base variable, its fallback, sub-folders),
#        macOS folder, (XDG variable, its fallback))
_FOLDERS = {
    "cache": ("WORKBENCH_CACHE_DIR", ("LOCALAPPDATA", "~\\AppData\\Local", (APP, "Cache")),
              f"~/Library/Caches/{APP}", ("XDG_CACHE_HOME", "~/.cache")),
    "data": ("WORKBENCH_DATA_DIR", ("APPDATA", "~\\AppData\\Roaming", (APP,)),
             f"~/Library/Application Support/{APP}", ("XDG_DATA_HOME", "~/.local/share")),
    # Not the cache folder: the app's "Clear cache" must not delete the log that explains
    # a crash.
    "log": ("WORKBENCH_LOG_DIR", ("LOCALAPPDATA", "~\\AppData\\Local", (APP, "Logs")),
            f"~/Library/Logs/{APP}", ("XDG_STATE_HOME", "~/.local/state")),
}


def user_folder(kind: str) -> str:
    """The absolute folder for ``kind`` ("cache", "data" or "log"); not created here."""
    override, (win_var, win_default, win_parts), mac, (xdg_var, xdg_default) = _FOLDERS[kind]
    env = os.environ.get(override)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    if sys.platform == "win32":
        return os.path.join(os.environ.get(win_var) or os.path.expanduser(win_default), *win_parts)
    if sys.platform == "darwin":
        return os.path.expanduser(mac)
    return os.path.join(os.environ.get(xdg_var) or os.path.expanduser(xdg_default), APP)
