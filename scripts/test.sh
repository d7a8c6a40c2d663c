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
# The browser tests drive Debian's Chromium (`playwright install` cannot download one here).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser tests will fail in CI" >&2
fi
status=0
echo "== JS install and build"
# The widget and the HTML report need the bundle in src/uberjob/static/ (git-ignored).
npm ci --no-audit --no-fund && npm run build || status=1
echo "== Python tests"
.venv/bin/python -m pytest tests -m "not browser" || status=1
echo "== JS tests"
npm test || status=1
echo "== JS type check"
npm run typecheck || status=1
echo "== Browser tests (JupyterLab + Playwright + Chromium)"
.venv/bin/python -m pytest tests/browser -m browser || status=1
exit $status
