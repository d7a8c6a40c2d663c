#!/usr/bin/env bash
# The README's main command: sets everything up (the venv with JupyterLab and the widget, the
# JS bundle) and starts JupyterLab on notebooks/tour.ipynb (or the notebooks/ folder).
# Extra arguments go to JupyterLab, e.g. `bash scripts/lab.sh --port 8899`.
set -euo pipefail
cd "$(dirname "$0")/.."
UBERJOB_EXTRAS=lab bash scripts/setup.sh
if [ ! -f src/uberjob/static/widget.js ] || [ -n "$(find js package-lock.json -newer src/uberjob/static/widget.js -print -quit)" ]; then
  npm ci --no-audit --no-fund
  npm run build
fi
target=notebooks
[ -f notebooks/tour.ipynb ] && target=notebooks/tour.ipynb
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec .venv/bin/jupyter lab --ServerApp.root_dir="$PWD" "${args[@]}" "$@" "$target"
