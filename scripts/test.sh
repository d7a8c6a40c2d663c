#!/usr/bin/env bash
# Installs everything the tests need and runs every suite: Python, JS and browser.
# Exits non-zero when any suite fails. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
UBERJOB_EXTRAS=test bash scripts/setup.sh
status=0
echo "== Python tests"
.venv/bin/python -m pytest tests || status=1
exit $status
