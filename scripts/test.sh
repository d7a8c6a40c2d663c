#!/usr/bin/env bash
# Installs everything the tests need and runs every suite: Python, the wheel, lint, JS and browser.
# Ends with one line saying which suites passed and which failed; exits non-zero when any failed.
# .ci/run calls exactly this.
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

passed=()
failed=()
# suite NAME COMMAND...: runs one suite under a heading and records how it ended.
suite() {
  local name="$1"
  shift
  echo "== $name"
  if "$@"; then passed+=("$name"); else failed+=("$name"); fi
}
ruff_all() {
  # Notebooks and the README's code blocks are prose for readers, not linted.
  .venv/bin/ruff check src tests benchmarks && .venv/bin/ruff format --check src tests benchmarks
}

# The widget and the HTML report need the bundle in src/uberjob/static/ (git-ignored).
suite "JS build" bash -c "npm ci --no-audit --no-fund && npm run build"
suite "Python" .venv/bin/python -m pytest tests -m "not browser and not wheel"
suite "wheel" .venv/bin/python -m pytest tests/test_wheel.py -m wheel
suite "ruff" ruff_all
suite "JS" npm test
suite "JS lint" npm run lint
suite "JS types" npm run typecheck
suite "browser" .venv/bin/python -m pytest tests/browser -m browser

summary="passed: ${passed[*]:-none}; failed: ${failed[*]:-none}"
if [ ${#failed[@]} -eq 0 ]; then
  echo "== test.sh: all ${#passed[@]} suites passed ($summary)"
else
  echo "== test.sh: ${#failed[@]} of $((${#passed[@]} + ${#failed[@]})) suites FAILED ($summary)"
  exit 1
fi
