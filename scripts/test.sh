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
exec .venv/bin/python -m pytest "$@"
