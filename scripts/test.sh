#!/usr/bin/env bash
# Install the project with its test extra into .venv, lint it, check its import contracts
# and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
# Lint and the import contracts (both configured in pyproject.toml) before the tests.
.venv/bin/ruff check .
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
