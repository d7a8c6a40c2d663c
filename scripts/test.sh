#!/usr/bin/env bash
# Installs everything the tests need and runs every suite: Python, JS and browser.
# Exits non-zero when any suite fails. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
UBERJOB_EXTRAS=test bash scripts/setup.sh
# uberjob.render needs Graphviz's dot (Debian's graphviz package); install it when we can.
if ! command -v dot >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
    || echo "warning: could not install graphviz; the render tests will be skipped" >&2
fi
status=0
echo "== Python tests"
.venv/bin/python -m pytest tests || status=1
exit $status
