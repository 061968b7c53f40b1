"""The README says what a real window needs and where things are (issue 11.13)."""
import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _package(soname: str) -> str:
    """``libxcb-icccm.so.4`` -> ``libxcb-icccm4`` (Debian's naming of shared libraries)."""
    name, version = re.match(r"(lib[\w+-]+?)\.so\.(\d+)", soname).groups()
    sep = "-" if name[-1].isdigit() else ""
    return f"{name}{sep}{version}".lower().replace("_", "-")


def test_readme_lists_every_xcb_library_qt_links_to():
    import PySide6

    libs = glob.glob(os.path.join(os.path.dirname(PySide6.__file__), "Qt", "lib",
                                  "libQt6XcbQpa.so.6"))
    if not libs or shutil.which("ldd") is None:
        pytest.skip("needs Linux PySide6 wheels and ldd")
    out = subprocess.run(["ldd", libs[0]], capture_output=True, text=True, check=False).stdout
    sonames = sorted(set(re.findall(r"(lib(?:xcb|xkbcommon-x11|X11-xcb)[\w-]*\.so\.\d+)", out)))
    assert sonames, out
    missing = [s for s in sonames if s != "libxcb.so.1" and _package(s) not in README]
    assert not missing, missing


def test_cache_clearing_is_under_tools():
    from workbench.mainwindow import MainWindow  # noqa: F401  (the menu it describes)

    assert "Tools menu" in README and "File menu" not in README
