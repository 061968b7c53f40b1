# Sourced by scripts/run.sh and scripts/test.sh: make .venv hold this checkout's install.
#
# Installing takes seconds and needs a package index, so it happens once, and again only
# when pyproject.toml (or the requested extra) changed since the last successful install:
# a stamp file inside .venv holds the hash of what was installed. Launching is then
# immediate, and works offline.
#
# Usage: ensure_venv [EXTRA]   (e.g. ensure_venv test  ->  pip install -e ".[test]")

_hash_file() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi   # macOS
}

ensure_venv() {
  local extra="${1:-}" target="." stamp=".venv/.workbench-install" want
  [ -n "$extra" ] && target=".[$extra]"
  want="$(_hash_file pyproject.toml) ${extra:-base}"
  if [ ! -x .venv/bin/python ]; then
    rm -f "$stamp"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
  fi
  # A stamp for the test extra also covers the plain install (the extra is a superset).
  if [ -f "$stamp" ] && { grep -qxF "$want" "$stamp" \
       || { [ -z "$extra" ] && grep -q "^$(_hash_file pyproject.toml) " "$stamp"; }; }; then
    return 0
  fi
  echo "Installing into .venv (pyproject.toml is new or changed)…" >&2
  .venv/bin/python -m pip install -q -e "$target"
  # Written only after a successful install, atomically.
  printf '%s\n' "$want" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
}
