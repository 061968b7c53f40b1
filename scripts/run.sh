#!/usr/bin/env bash
# Install the project into .venv and launch the app on the bundled sample dataset.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/python main.py --dataset resources/sample "$@"
