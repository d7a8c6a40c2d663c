import assert from "node:assert/strict";
import { test } from "node:test";
import { durationCases, fixture, makeView } from "./helpers.js";
import { countText, formatDuration, formatRate, remainingSeconds } from "../../js/util.js";

test("the header shows the state word, elapsed time and calls per second", () => {
  const { root, view } = makeView();
  view.update(fixture("small"));
  const state = root.querySelector(".uj-state");
  assert.equal(state?.textContent, "running");
  assert.equal(root.querySelector(".uj-elapsed")?.textContent, "4.3s");
  assert.equal(root.querySelector(".uj-rate")?.textContent, "1.4 calls/s");
  for (const [name, word] of [["deep_tree", "done"], ["many_failures", "failed"],
    ["hostile_text", "interrupted"], ["stale_and_run", "stopped"]]) {
    view.update(fixture(name));
    assert.equal(root.querySelector(".uj-state")?.textContent, word);
  }
});

test("redraws coalesce: only the latest snapshot of a frame is drawn", () => {
  /** @type {(() => void)[]} */
  const frames = [];
  const { root, view } = makeView({ schedule: (/** @type {() => void} */ f) => frames.push(f) });
  const snap = fixture("small");
  view.update({ ...snap, elapsed: 1 });
  view.update({ ...snap, elapsed: 2 });
  view.update({ ...snap, elapsed: 3 });
  assert.equal(frames.length, 1);
  assert.equal(root.querySelector(".uj-state")?.textContent, "");
  frames[0]();
  assert.equal(root.querySelector(".uj-elapsed")?.textContent, "3.0s");
});

test("an unknown schema is reported, not drawn", () => {
  const { root, view } = makeView();
  view.update({ ...fixture("small"), schema: 99 });
  assert.match(root.textContent ?? "", /uberjob: cannot draw a progress snapshot of schema 99/);
  assert.equal(root.querySelectorAll(".uj-row").length, 0);
});

test("formatting helpers", () => {
  assert.equal(countText(10, 3, 2, 0, true), "(3 + 2) / 10");
  assert.equal(countText(10, 3, 2, 1, false), "3 / 10, 1 failed");
  assert.equal(formatRate(812.3), "812 calls/s");
  assert.equal(formatRate(12345), "12,345 calls/s");
  assert.equal(formatRate(0), "0 calls/s");
});

test("durations follow the table the Python views follow (tests/fixtures/durations.json)", () => {
  const cases = durationCases();
  assert.ok(cases.length > 10);
  for (const [seconds, text] of cases) assert.equal(formatDuration(seconds), text, `${seconds} s`);
  assert.equal(formatDuration(NaN), "0.0s");
  assert.equal(formatDuration(Infinity), "0.0s");
});

test("the UI state (folds, selection, search, open groups) survives a new view", () => {
  const snap = fixture("many_failures");
  const { root, view } = makeView();
  view.update(snap);
  const row = /** @type {HTMLElement} */ (root.querySelector("[data-key='run/1']"));
  /** @type {HTMLElement} */ (row.querySelector(".uj-twisty")).click();
  /** @type {HTMLElement} */ (row.querySelector(".uj-name")).click();
  const group = /** @type {HTMLElement} */ (root.querySelector(".uj-group:not([hidden]) .uj-group-head"));
  group.click();
  const state = JSON.parse(JSON.stringify(view.uiState()));
  const { root: root2, view: view2 } = makeView();
  view2.update(snap);
  view2.restoreUiState(state);
  const row2 = root2.querySelector("[data-key='run/1']");
  assert.equal(row2?.getAttribute("aria-expanded"), row.getAttribute("aria-expanded"));
  assert.equal(row2?.getAttribute("aria-selected"), "true");
  const open = [...root2.querySelectorAll(".uj-group-head[aria-expanded=true]")];
  assert.equal(open.length, 1);
  view2.restoreUiState({ trees: [["run", [[99999, true]]]], selection: { key: "run", index: 99999 }, query: "x", groups: [424242] });
  assert.equal(/** @type {HTMLInputElement} */ (root2.querySelector(".uj-search")).value, "x");
});

test("the header says how the run ended and how many failed; a tiny run shows no rate", () => {
  const { root, view } = makeView();
  const snap = fixture("stale_and_run");
  view.update({ ...snap, failures: { ...snap.failures, count: 9 } });
  assert.equal(root.querySelector(".uj-state")?.textContent, "stopped");
  assert.equal(root.querySelector(".uj-state-failed")?.textContent, "9 failed");
  assert.equal(root.querySelector(".uj-header")?.textContent?.startsWith("stopped9 failed"), true);
  view.update({ ...fixture("small"), elapsed: 0.012, rate: 246 });   // 3 calls in 12 ms
  assert.equal(root.querySelector(".uj-rate")?.textContent, "");
  assert.equal(root.querySelector(".uj-state-failed")?.textContent, "2 failed");
});

test("counts have thousands separators; the legend explains (done + running) / total", () => {
  assert.equal(countText(20001, 20001, 0, 0, false), "20,001 / 20,001");
  assert.equal(countText(304, 1064, 8, 1200, true), "1,064 / 304, 1,200 failed");
  assert.equal(countText(20000, 1064, 8, 3, true), "(1,064 + 8) / 20,000, 3 failed");
  const { root, view } = makeView();
  view.update(fixture("small"));
  const legend = /** @type {HTMLElement} */ (root.querySelector(".uj-legend"));
  assert.equal(legend.textContent, "(done + running) / total");
  assert.equal(legend.hidden, false);
  assert.match(legend.title, /calls finished, calls running now, calls planned/);
  assert.match(root.querySelector(".uj-count")?.getAttribute("title") ?? "", /done \+ running/);
  view.update(fixture("deep_tree"));   // done: no running form, no legend
  assert.equal(legend.hidden, true);
});

test("time left: for the run and per scope, once there is enough to go on", () => {
  assert.equal(remainingSeconds(100, 0, 10), null);     // nothing finished yet
  assert.equal(remainingSeconds(100, 50, 1), null);     // the first seconds
  assert.equal(remainingSeconds(100, 100, 10), null);   // all finished
  assert.equal(remainingSeconds(100, 25, 10), 30);
  const { root, view } = makeView();
  const snap = fixture("small");   // running, 4.25 s: 4 + 2 of 42 finished; a scope 2 + 2 of 40
  view.update(snap);
  assert.equal(root.querySelector(".uj-remaining")?.textContent, "about 26s left");   // 36 calls left at 6 per 4.25 s: 25.5 s
  const root0 = root.querySelector("[data-key='run/0'] .uj-time");
  assert.equal(root0?.textContent, "26s left");
  assert.ok(root0?.classList.contains("uj-left"));
  // a scope with 4 finished calls is not enough to go on: its share of time shows
  assert.equal(root.querySelector("[data-key='run/3'] .uj-time")?.textContent, "2.8s");
  view.update({ ...snap, state: "done" });
  assert.equal(root.querySelector(".uj-remaining")?.textContent, "");
  assert.equal(root0?.textContent, "4.3s");   // its share of the run's time again
});

test("sections share their column widths, so their bars line up", () => {
  const { root, view } = makeView();
  view.update(fixture("stale_and_run"));
  const sections = /** @type {HTMLElement} */ (root.querySelector(".uj-sections"));
  assert.match(sections.style.getPropertyValue("--uj-name-w"), /^\d+ch$/);
  assert.match(sections.style.getPropertyValue("--uj-count-w"), /^\d+ch$/);
  for (const tree of root.querySelectorAll(".uj-tree")) {
    assert.equal(/** @type {HTMLElement} */ (tree).style.getPropertyValue("--uj-name-w"), "");
  }
});

test("the HTML report (no setStop) has no Stop button", () => {
  const { root, view } = makeView();
  view.update(fixture("small"));
  assert.equal(/** @type {HTMLElement} */ (root.querySelector("button.uj-stop")).hidden, true);
});

test("selecting a row inside a folded subtree names it from the snapshot, not from the DOM", () => {
  const { root, view } = makeView();
  view.update(fixture("deep_tree"));
  const tree = /** @type {any} */ (view.trees.get("run"));
  const index = tree.nodes.findIndex((/** @type {any[]} */ row) => row[1] === "shard_001");
  assert.ok(index > 0);
  assert.equal(tree.rows[index].el.hidden, true, "folded: the row was never drawn");
  view.select({ key: "run", index });
  const chip = /** @type {HTMLElement} */ (root.querySelector(".uj-chip"));
  assert.equal(chip.textContent, "in etl \u203a transform \u203a shard_001 \u2715");
  view.select({ key: "run", index: 0 });
  assert.equal(chip.textContent, "in Running graph \u2715");
});

test("the HTML report (no setResume) has no Resume button, whatever the run's state", () => {
  const { root, view } = makeView();
  view.update({ ...fixture("small"), state: "failed" });
  assert.equal(/** @type {HTMLElement} */ (root.querySelector("button.uj-resume")).hidden, true);
});
