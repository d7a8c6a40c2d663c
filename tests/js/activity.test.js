// The header's activity chart (js/activity.js) and its line for resumed runs, drawn from the
// snapshot's `activity` and `resumed` keys (docs/snapshot-schema.md, "What is running…").
import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, makeView } from "./helpers.js";
import { CHART_HEIGHT, CHART_MAX_WIDTH, barLabel } from "../../js/activity.js";

/** @param {Element} root */
const chart = (root) => /** @type {HTMLElement} */ (root.querySelector(".uj-header .uj-activity"));
/** @param {Element} root */
const bars = (root) => [...root.querySelectorAll(".uj-activity-bar")];
/** @param {Element} bar @param {string} cls */
const height = (bar, cls) => Number(bar.querySelector(`.${cls}`)?.getAttribute("height"));

test("one bar per bucket, completed below and failed on top, each titled with its numbers", () => {
  const { root, view } = makeView();
  const activity = { bucket: 1, completed: [812, 790, 0, 406], failed: [0, 3, 0, 0] };
  view.update({ ...fixture("small"), elapsed: 3.5, activity });
  assert.equal(chart(root).hidden, false);
  const svg = /** @type {SVGSVGElement} */ (chart(root).querySelector("svg"));
  assert.equal(svg.namespaceURI, "http://www.w3.org/2000/svg");
  assert.equal(svg.getAttribute("role"), "img");
  assert.equal(svg.getAttribute("aria-label"), "Calls finished per 1.0s, at most 812: 2,008 completed, 3 failed");
  const b = bars(root);
  assert.equal(b.length, 4);
  assert.deepEqual(b.map((g) => g.querySelector("title")?.textContent), [
    "812 completed, 0 failed in 1.0s from 0.0s",
    "790 completed, 3 failed in 1.0s from 1.0s",
    "0 completed, 0 failed in 1.0s from 2.0s",
    "406 completed, 0 failed in 0.5s from 3.0s (812 calls/s)",   // the bucket still filling
  ]);
  assert.equal(height(b[0], "uj-activity-done"), CHART_HEIGHT, "the busiest bucket is full height");
  assert.equal(height(b[0], "uj-activity-failed"), 0);
  assert.equal(height(b[1], "uj-activity-failed"), 2, "a few failures still show");
  assert.ok(height(b[1], "uj-activity-done") < CHART_HEIGHT);
  assert.equal(height(b[2], "uj-activity-done"), 0);
  assert.equal(height(b[3], "uj-activity-done"), CHART_HEIGHT / 2);
  assert.equal(svg.getAttribute("width"), "24");
});

test("the chart's width is bounded; longer buckets say their rate; bars are reused", () => {
  const { root, view } = makeView();
  const completed = Array.from({ length: 120 }, (_, i) => i * 10);
  view.update({ ...fixture("small"), elapsed: 500, activity: { bucket: 4, completed, failed: completed.map(() => 0) } });
  const svg = /** @type {SVGSVGElement} */ (chart(root).querySelector("svg"));
  assert.equal(svg.getAttribute("width"), String(CHART_MAX_WIDTH));
  assert.equal(bars(root).length, 120);
  const first = bars(root)[0];
  assert.equal(first.querySelector("title")?.textContent, "0 completed, 0 failed in 4.0s from 0.0s (0 calls/s)");
  assert.equal(bars(root)[10].querySelector("title")?.textContent,
    "100 completed, 0 failed in 4.0s from 40s (25 calls/s)");
  // the model merges pairs of buckets as the run grows: fewer bars, the same elements
  view.update({ ...fixture("small"), elapsed: 520, activity: { bucket: 8, completed: completed.slice(0, 61), failed: completed.slice(0, 61).map(() => 1) } });
  assert.equal(bars(root).length, 61);
  assert.equal(bars(root)[0], first);
  assert.equal(first.querySelector("title")?.textContent, "0 completed, 1 failed in 8.0s from 0.0s (0.1 calls/s)");
  assert.equal(barLabel(3, 0, 1, 42, 50), "3 completed, 0 failed in 1.0s from 42s");
});

test("no chart without `activity` or with fewer than 2 buckets", () => {
  const { root, view } = makeView();
  // the model's fixtures all have activity: one without it is an older snapshot
  const small = fixture("small");
  delete small.activity;
  view.update(small);
  assert.equal(chart(root).hidden, true);
  view.update({ ...small, activity: { bucket: 1, completed: [5], failed: [0] } });
  assert.equal(chart(root).hidden, true);
  view.update({ ...small, activity: { bucket: 1, completed: [5, 6], failed: [0, 0] } });
  assert.equal(chart(root).hidden, false);
  view.update(small);
  assert.equal(chart(root).hidden, true, "a later snapshot without it hides it again");
});

test("the header says a run was resumed: how many calls were reused and which functions were redefined", () => {
  const { root, view } = makeView();
  const line = () => /** @type {HTMLElement} */ (root.querySelector(".uj-header .uj-resumed"));
  view.update(fixture("small"));
  assert.equal(line().hidden, true, "not a resumed run");
  view.update({ ...fixture("small"), resumed: { count: 1, reused: 9000, refreshed: ["fetch", "<b>parse</b>"] } });
  assert.equal(line().hidden, false);
  assert.equal(line().textContent, "resumed, 9,000 calls reused, 2 functions redefined");
  assert.match(line().title, /^Replaced by their redefinition in the notebook: fetch, <b>parse<\/b>\./);
  assert.equal(root.querySelectorAll("b").length, 0);
  view.update({ ...fixture("small"), resumed: { count: 2, reused: 1, refreshed: [] } });
  assert.equal(line().textContent, "resumed 2×, 1 call reused");
  assert.match(line().title, /^No planned function was replaced/);
});
