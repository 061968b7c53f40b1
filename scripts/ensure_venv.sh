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

# pip's and the build backend's own output (setuptools deprecation warnings and the like)
# goes to this file, not the terminal; a failed install prints its last lines.
INSTALL_LOG=".venv/install.log"

_pip() {
  if ! .venv/bin/python -m pip "$@" >>"$INSTALL_LOG" 2>&1; then
    echo "error: pip $* failed; the last lines of $INSTALL_LOG:" >&2
    tail -n 25 "$INSTALL_LOG" >&2
    return 1
  fi
}

ensure_venv() {
  local extra="${1:-}" target="." stamp=".venv/.workbench-install" want
  [ -n "$extra" ] && target=".[$extra]"
  want="$(_hash_file pyproject.toml) ${extra:-base}"
  if [ ! -x .venv/bin/python ] || [ ! -f .venv/bin/activate ]; then
    rm -f "$stamp"
    # Without Debian/Ubuntu's python3-venv package this fails half-way, leaving a .venv
    # with no pip: remove it, so the next try starts clean, and say what is missing.
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      rm -rf .venv
      echo "error: could not create .venv with 'python3 -m venv'. On Debian or Ubuntu install" \
           "the venv module first: sudo apt-get install python3-venv" >&2
      return 1
    fi
    _pip install -q --upgrade pip
  fi
  # A stamp for the test extra also covers the plain install (the extra is a superset).
  if [ -f "$stamp" ] && { grep -qxF "$want" "$stamp" \
       || { [ -z "$extra" ] && grep -q "^$(_hash_file pyproject.toml) " "$stamp"; }; }; then
    return 0
  fi
  echo "Installing into .venv (first time: about 3.9 GB, a few minutes; details in $INSTALL_LOG)…" >&2
  _pip install -q -e "$target"
  # Written only after a successful install, atomically.
  printf '%s\n' "$want" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
}
