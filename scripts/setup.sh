#!/usr/bin/env bash
# Creates (or refreshes) the project's virtualenv in .venv and installs uberjob into it in
# editable mode with the extras named in $UBERJOB_EXTRAS (default: the test extras).
# Idempotent: a second run only installs what changed. Used by scripts/lab.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${UBERJOB_EXTRAS:-test}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
fi
.venv/bin/pip install --quiet -e ".[${extras}]"
