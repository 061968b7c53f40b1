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
# pip's build backend is chatty (setuptools deprecation notices): that must not reach
# the terminal.
case "$*" in *"pip install"*) echo "SetuptoolsDeprecationWarning: noise" >&2;; esac
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
    (bin_dir / "activate").write_text("", encoding="utf-8")   # a complete venv has it
    return root


def _run(root, script, env=None, ok=True):
    log = root / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    out = subprocess.run(["bash", f"scripts/{script}"], cwd=root, capture_output=True,
                         text=True, timeout=60, check=False, env=env or dict(os.environ))
    if not ok:
        return out
    assert out.returncode == 0, out.stderr
    assert "noise" not in out.stderr   # pip's output went to .venv/install.log
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


def test_install_output_goes_to_a_log_file_not_the_terminal(checkout):
    _run(checkout, "run.sh")
    assert "SetuptoolsDeprecationWarning" in (checkout / ".venv" / "install.log").read_text()


def test_missing_venv_module_says_to_install_python3_venv(checkout, tmp_path):
    """Debian's python3 without python3-venv: ``python3 -m venv`` fails half-way."""
    import shutil as sh

    sh.rmtree(checkout / ".venv")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text("#!/usr/bin/env bash\nmkdir -p .venv/bin; "
                                      "echo 'ensurepip is not available' >&2; exit 1\n")
    (fake_bin / "python3").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}")
    out = _run(checkout, "run.sh", env=env, ok=False)
    assert out.returncode != 0
    assert "sudo apt-get install python3-venv" in out.stderr
    assert not (checkout / ".venv").exists()   # the next try starts clean


# A python that exits with $PARALLEL_RC for the parallel pass and $SERIAL_RC for the other.
PASS_PYTHON = FAKE_PYTHON + """case "$*" in
  *"not serial"*) exit "${PARALLEL_RC:-0}";;
  *"-m serial"*) exit "${SERIAL_RC:-0}";;
esac
"""


@pytest.mark.parametrize("rcs, status, passes", [
    ((0, 0), 0, 2), ((0, 5), 0, 2), ((5, 0), 0, 2), ((5, 5), 5, 2),   # 5: nothing selected
    ((1, 0), 1, 2), ((0, 1), 1, 2), ((3, 1), 3, 2),
    ((2, 0), 2, 1),   # interrupted: no second pass
])
def test_test_script_runs_a_parallel_pass_then_the_serial_tests_with_the_same_arguments(
        checkout, rcs, status, passes):
    _run(checkout, "test.sh")   # installs once
    (checkout / ".venv" / "bin" / "python").write_text(PASS_PYTHON, encoding="utf-8")
    (checkout / ".venv" / "calls.log").unlink()
    env = dict(os.environ, PARALLEL_RC=str(rcs[0]), SERIAL_RC=str(rcs[1]))
    out = subprocess.run(["bash", "scripts/test.sh", "tests/x", "-k", "y"], cwd=checkout,
                         capture_output=True, text=True, timeout=60, check=False, env=env)
    assert out.returncode == status, out.stderr
    calls = [c for c in (checkout / ".venv" / "calls.log").read_text(encoding="utf-8").splitlines()
             if c.startswith("-m pytest")]   # ruff and lint-imports ran first
    assert calls == ["-m pytest -n auto --dist loadfile -m not serial tests/x -k y",
                     "-m pytest -m serial tests/x -k y -n 0"][:passes]
