// The HTML report's entry point: draws the snapshot and instances embedded in the page.
// The report is one self-contained file written by src/uberjob/progress/_html.py:
//   <script type="application/json" id="uj-data">{"snapshot": ..., "instances": [...]}</script>

import { ProgressView } from "./render.js";
import { assert } from "./util.js";

// While the run goes on, the page reloads itself every few seconds (a meta refresh): what the
// reader opened, selected and searched, and where they scrolled, survive it in sessionStorage.
const KEY = `uberjob-report:${location.pathname}`;

function main() {
  const data = document.getElementById("uj-data");
  const root = document.getElementById("uj-report");
  assert(data && root, "the report page lacks its data or root element");
  const { snapshot, instances } = JSON.parse(data.textContent ?? "{}");
  const view = new ProgressView(root, { schedule: (draw) => draw() });
  view.addInstances(instances ?? []);
  view.update(snapshot);
  const saved = readSaved();
  if (saved) {
    view.restoreUiState(saved.ui);
    window.scrollTo(saved.x ?? 0, saved.y ?? 0);
  }
  window.addEventListener("pagehide", () => {
    try {
      const state = { ui: view.uiState(), x: window.scrollX, y: window.scrollY };
      sessionStorage.setItem(KEY, JSON.stringify(state));
    } catch {
      // storage may be disabled (private windows, file:// policies): nothing to keep then
    }
  });
}

/** @returns {{ ui: import("./render.js").UiState, x?: number, y?: number } | null} */
function readSaved() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null");
  } catch {
    return null;
  }
}

main();
