#!/usr/bin/env bash
# Launch the app on the bundled sample dataset, installing into .venv first when needed
# (first run, or pyproject.toml changed since the last install: see ensure_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure_venv.sh
ensure_venv
exec .venv/bin/python main.py --dataset resources/sample "$@"
