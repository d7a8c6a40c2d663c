#!/usr/bin/env bash
# Creates (or refreshes) the project's virtualenv in .venv and installs uberjob into it in
# editable mode with the extras named in $UBERJOB_EXTRAS (default: the test extras).
# Idempotent and quick the second time: pip runs only when pyproject.toml, the version or the
# extras changed since the last install (a stamp per set of extras in .venv). An editable install
# picks up source changes by itself. Used by scripts/lab.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${UBERJOB_EXTRAS:-test}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
stamp=".venv/.uberjob-installed-${extras//[^a-z,]/_}"
wanted="$(cat pyproject.toml src/uberjob/_version.py | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/pip install --quiet -e ".[${extras}]"
  echo "$wanted" > "$stamp"
fi
