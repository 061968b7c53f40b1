"""scripts/run.sh and scripts/test.sh install once and again only when pyproject.toml
changed (issue 11.14). The real scripts run against a stand-in .venv whose ``python``
records what it is asked to do, so no package index is needed."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls.log"
"""


@pytest.fixture
def checkout(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for name in ("run.sh", "test.sh", "ensure_venv.sh"):
        shutil.copy(ROOT / "scripts" / name, root / "scripts" / name)
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    (root / "main.py").write_text("", encoding="utf-8")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "ruff", "lint-imports"):
        (bin_dir / tool).write_text(FAKE_PYTHON, encoding="utf-8")
        (bin_dir / tool).chmod(0o755)
    return root


def _run(root, script):
    log = root / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    out = subprocess.run(["bash", f"scripts/{script}"], cwd=root, capture_output=True,
                         text=True, timeout=60, check=False, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _installs(calls):
    return [c for c in calls if c.startswith("-m pip install")]


def test_run_installs_once_then_launches_straight_away(checkout):
    first = _run(checkout, "run.sh")
    assert _installs(first) == ["-m pip install -q -e ."] and first[-1].startswith("main.py")
    second = _run(checkout, "run.sh")
    assert _installs(second) == [] and second == ["main.py --dataset resources/sample"]
    (checkout / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2"\n')
    third = _run(checkout, "run.sh")
    assert _installs(third) == ["-m pip install -q -e ."]


def test_test_script_installs_the_test_extra_once(checkout):
    assert _installs(_run(checkout, "test.sh")) == ['-m pip install -q -e .[test]']
    assert _installs(_run(checkout, "test.sh")) == []
    assert _installs(_run(checkout, "run.sh")) == []   # the test extra covers the app
