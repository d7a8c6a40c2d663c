// The HTML report's entry point: draws the snapshot and instances embedded in the page.
// The report is one self-contained file written by src/uberjob/progress/_html.py:
//   <script type="application/json" id="uj-data">{"snapshot": ..., "instances": [...]}</script>

import { ProgressView } from "./render.js";
import { assert } from "./util.js";

function main() {
  const data = document.getElementById("uj-data");
  const root = document.getElementById("uj-report");
  assert(data && root, "the report page lacks its data or root element");
  const { snapshot, instances } = JSON.parse(data.textContent ?? "{}");
  const view = new ProgressView(root, { schedule: (draw) => draw() });
  view.addInstances(instances ?? []);
  view.update(snapshot);
}

main();
