#!/usr/bin/env bash
# The README's main command: sets everything up (the venv with JupyterLab and the widget, the
# JS bundle) and starts JupyterLab on notebooks/tour.ipynb (or the notebooks/ folder).
# Extra arguments go to JupyterLab, e.g. `bash scripts/lab.sh --port 8899`.
set -euo pipefail
cd "$(dirname "$0")/.."
UBERJOB_EXTRAS="${UBERJOB_EXTRAS:-lab}" bash scripts/setup.sh
if [ ! -f src/uberjob/static/widget.js ] || [ -n "$(find js package-lock.json -newer src/uberjob/static/widget.js -print -quit)" ]; then
  npm ci --no-audit --no-fund
  npm run build
fi
# JupyterLab's defaults for this venv (your own settings still win): no "get Jupyter news?" pop-up
# over the widgets, no update check. The server flags below keep it from fetching either.
overrides=.venv/share/jupyter/lab/settings/overrides.d
mkdir -p "$overrides"
echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
  > "$overrides/uberjob.json"
target=notebooks
[ -f notebooks/tour.ipynb ] && target=notebooks/tour.ipynb
args=(--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec .venv/bin/jupyter lab --ServerApp.root_dir="$PWD" "${args[@]}" "$@" "$target"
