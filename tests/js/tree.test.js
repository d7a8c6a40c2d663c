import assert from "node:assert/strict";
import { test } from "node:test";
import { click, fixture, makeView, press, rowNamed, visibleRows } from "./helpers.js";
import { defaultOpen, ROW_BUDGET } from "../../js/fold.js";

test("rows follow the tree: depth-first order, aria levels, keys", () => {
  const { root, view } = makeView();
  const snap = fixture("stale_and_run");
  view.update(snap);
  const trees = root.querySelectorAll("[role=tree]");
  assert.equal(trees.length, 2);
  assert.equal(trees[0].getAttribute("aria-label"), "Determining stale value stores");
  const keys = [...trees[0].querySelectorAll("[role=treeitem]")].map((r) => r.getAttribute("data-key"));
  assert.deepEqual(keys, ["stale/0", "stale/1", "stale/2", "stale/3", "stale/4", "stale/5"]);
  const levels = [...trees[1].querySelectorAll("[role=treeitem]")].map((r) => r.getAttribute("aria-level"));
  assert.deepEqual(levels, ["1", "2", "3", "2", "3"]);
});

test("rows keep their elements and rows added later go to their depth-first place", () => {
  const { root, view } = makeView();
  const snap = fixture("small");
  view.update(snap);
  const before = rowNamed(root, "setup");
  const nodes = structuredClone(snap.sections[0].nodes);
  nodes.push([1, "__main__.late", 1, 0, 0, 0, 0]);   // a second child of "setup", added last
  nodes[1][2] += 1; nodes[0][2] += 1;
  view.update({ ...snap, sections: [{ ...snap.sections[0], nodes }] });
  assert.equal(rowNamed(root, "setup"), before, "the row element is reused");
  const names = [...root.querySelectorAll(".uj-name")].map((n) => n.textContent);
  assert.deepEqual(names, ["Running graph", "setup", "__main__.prepare", "__main__.late",
    "__main__.dont_roll_six"]);
});

test("count texts: running form, finished form, failures", () => {
  const { root, view } = makeView();
  const snap = fixture("small");
  view.update(snap);
  const count = (/** @type {string} */ n) => rowNamed(root, n).querySelector(".uj-count")?.textContent;
  assert.equal(count("Running graph"), "(4 + 3) / 42, 2 failed");
  assert.equal(count("setup"), "2 / 2"); // a finished scope shows its final form mid-run
  view.update({ ...snap, state: "failed" });
  assert.equal(count("Running graph"), "4 / 42, 2 failed");
  assert.equal(count("setup"), "2 / 2");
  view.update({ ...snap, state: "pending" });
  assert.equal(count("__main__.dont_roll_six"), "2 / 40, 2 failed");
});

test("bars are progressbars with values; times show from one second", () => {
  const { root, view } = makeView();
  view.update(fixture("small"));
  const row = rowNamed(root, "__main__.dont_roll_six");
  const bar = /** @type {HTMLElement} */ (row.querySelector("[role=progressbar]"));
  assert.equal(bar.getAttribute("aria-valuemax"), "40");
  assert.equal(bar.getAttribute("aria-valuenow"), "2");
  assert.equal(/** @type {HTMLElement} */ (bar.querySelector(".uj-bar-done")).style.width, "5%");
  assert.equal(/** @type {HTMLElement} */ (bar.querySelector(".uj-bar-running")).style.width, "7.5%");
  assert.equal(/** @type {HTMLElement} */ (bar.querySelector(".uj-bar-failed")).style.width, "5%");
  assert.equal(row.querySelector(".uj-time")?.textContent, "2.8s");
  const { root: r2, view: v2 } = makeView();
  v2.update(fixture("hostile_text"));
  assert.equal(rowNamed(r2, "naïve.función").querySelector(".uj-time")?.textContent, "");
});

test("folding: top levels open, big subtrees folded, within the row budget", () => {
  const { root, view } = makeView();
  const snap = fixture("deep_tree");
  view.update(snap);
  const shown = visibleRows(root);
  assert.ok(shown.length > 3 && shown.length <= ROW_BUDGET, `${shown.length} rows shown`);
  assert.equal(rowNamed(root, "Running graph").getAttribute("aria-expanded"), "true");
  assert.equal(rowNamed(root, "etl").getAttribute("aria-expanded"), "true");
  const folded = shown.filter((r) => r.getAttribute("aria-expanded") === "false");
  assert.ok(folded.length > 0, "some big subtree is folded");
  // at each level, the shown nodes left folded are bigger than the ones opened
  const nodes = snap.sections[0].nodes;
  const kids = nodes.map(() => 0);
  for (const n of nodes) if (n[0] >= 0) kids[n[0]]++;
  /** @type {Map<string, {open: number[], folded: number[]}>} */
  const byLevel = new Map();
  for (const r of shown) {
    const i = Number(r.getAttribute("data-key")?.split("/")[1]);
    const state = r.getAttribute("aria-expanded");
    if (state === null || i === 0) continue;
    const level = byLevel.get(r.getAttribute("aria-level") ?? "") ?? { open: [], folded: [] };
    (state === "true" ? level.open : level.folded).push(kids[i]);
    byLevel.set(r.getAttribute("aria-level") ?? "", level);
  }
  for (const { open, folded } of byLevel.values()) {
    if (open.length && folded.length) assert.ok(Math.max(...open) <= Math.min(...folded));
  }
});

test("defaultOpen opens small subtrees first and never exceeds the budget", () => {
  // root -> a (3 kids), b (30 kids)
  const parents = [-1, 0, 0, 1, 1, 1, ...Array(30).fill(2)];
  const open = defaultOpen(parents, 10);
  assert.equal(open[0], true);
  assert.equal(open[1], true);
  assert.equal(open[2], false);
  assert.deepEqual(defaultOpen([-1]), [false]);
  assert.deepEqual(defaultOpen([]), []);
});

test("twisty clicks and arrow keys fold and unfold; Enter selects", () => {
  const { root, view } = makeView();
  view.update(fixture("stale_and_run"));
  const inputs = rowNamed(root, "inputs");
  const leaf = rowNamed(root, "JsonFileStore");
  assert.equal(leaf.hidden, false);
  click(/** @type {Element} */ (inputs.querySelector(".uj-twisty")));
  assert.equal(inputs.getAttribute("aria-expanded"), "false");
  assert.equal(leaf.hidden, true);
  press(inputs, "ArrowRight");
  assert.equal(inputs.getAttribute("aria-expanded"), "true");
  assert.equal(leaf.hidden, false);
  press(inputs, "ArrowRight");                 // open: moves to the first child
  assert.equal(leaf.tabIndex, 0);
  assert.equal(document.activeElement, leaf);
  press(leaf, "ArrowLeft");                    // leaf: back to the parent
  assert.equal(document.activeElement, inputs);
  press(inputs, "ArrowLeft");                  // open: folds
  assert.equal(inputs.getAttribute("aria-expanded"), "false");
  press(inputs, "ArrowDown");
  assert.equal(document.activeElement, rowNamed(root, "out"));
  press(/** @type {HTMLElement} */ (document.activeElement), "Enter");
  assert.equal(rowNamed(root, "out").getAttribute("aria-selected"), "true");
  assert.equal(root.querySelectorAll("[tabindex='0'].uj-row").length, 2, "one tab stop per tree");
});

test("a row focused directly (Tab, a screen reader) becomes the row the arrow keys move from", () => {
  const { root, view } = makeView();
  view.update(fixture("deep_tree"));
  const rows = visibleRows(root).filter((r) => r.closest("[data-section='run']"));
  const third = /** @type {HTMLElement} */ (rows[3]);
  third.focus();                               // no click: focus moved by something else
  assert.equal(document.activeElement, third);
  assert.equal(third.tabIndex, 0);
  press(third, "ArrowDown");
  assert.equal(document.activeElement, rows[4]);
  assert.equal(rows[3].tabIndex, -1);
  assert.equal(root.querySelectorAll("[data-section='run'] [tabindex='0'].uj-row").length, 1);
});

test("a registry run's store rows are told apart from computed calls", () => {
  const { root, view } = makeView();
  const snap = fixture("small");
  const nodes = [[-1, "Running graph", 12, 12, 0, 0, 0], [0, "m.square", 4, 4, 0, 0, 0],
    [0, "m.square (written to store)", 4, 4, 0, 0, 0],
    [0, "m.square (up to date, read from store)", 4, 4, 0, 0, 0]];
  view.update({ ...snap, state: "done", sections: [{ key: "run", title: "Running graph", nodes }] });
  assert.equal(rowNamed(root, "m.square").classList.contains("uj-store"), false);
  assert.equal(rowNamed(root, "m.square (written to store)").classList.contains("uj-store"), true);
  assert.equal(rowNamed(root, "m.square (written to store)").classList.contains("uj-fresh"), false);
  const fresh = rowNamed(root, "m.square (up to date, read from store)");
  assert.equal(fresh.classList.contains("uj-fresh"), true);
});
