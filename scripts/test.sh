#!/usr/bin/env bash
# Install the project with its test extra into .venv (once, and again when pyproject.toml
# changes: see ensure_venv.sh), lint it, check its import contracts and run the whole
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure_venv.sh
ensure_venv test
# Lint and the import contracts (both configured in pyproject.toml) before the tests.
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache   # its cache can miss a changed file
# Two passes (docs/ARCHITECTURE.md, "The test suite"): every test but the "serial" ones on
# one pytest-xdist worker per usable CPU (-n auto: tests/conftest.py picks the number; a
# test file stays on one worker, so its module fixtures are made once), then the "serial"
# ones alone, as they time this process's own threads in milliseconds. Arguments go to
# both passes: `scripts/test.sh tests/workbench -n 0` runs that folder in one process.
# Exit status: the first pass's failure, else the second's; a pass that selects nothing
# (pytest's 5) counts only when both did.
set +e
.venv/bin/python -m pytest -n auto --dist loadfile -m "not serial" "$@"
parallel=$?
if [ "$parallel" -eq 2 ]; then exit 2; fi   # interrupted (Ctrl-C): no second pass
.venv/bin/python -m pytest -m serial "$@" -n 0
serial=$?
if [ "$parallel" -eq 5 ] && [ "$serial" -eq 5 ]; then exit 5; fi
if [ "$parallel" -ne 0 ] && [ "$parallel" -ne 5 ]; then exit "$parallel"; fi
if [ "$serial" -ne 5 ]; then exit "$serial"; fi
exit 0
