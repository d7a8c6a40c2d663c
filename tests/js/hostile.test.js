// A lone surrogate (a file name over non-UTF-8 bytes) and terminal escape sequences in user text:
// the renderer shows them as text, creates no element for them, and keeps drawing afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { click, fixture, fixtureInstances, makeView, rowNamed, type, visibleGroups } from "./helpers.js";

const SURROGATE_NAME = "data-\udcff.csv";
const ESCAPES = "\u001b[2J\u001b[31mscreen cleared";

test("a lone surrogate and escape sequences render as text, in the tree and the failures", () => {
  const { root, view } = makeView();
  const snap = fixture("hostile_text");
  view.addInstances(fixtureInstances("hostile_text"));
  view.update(snap);
  const row = rowNamed(root, SURROGATE_NAME);
  assert.equal(row.querySelector(".uj-count")?.textContent, "0 / 1, 1 failed");
  const group = [...root.querySelectorAll(".uj-group")].find((g) =>
    g.querySelector(".uj-group-message")?.textContent?.startsWith(ESCAPES));
  assert.ok(group, "the group whose message starts with escape sequences is listed");
  assert.equal(group.querySelector(".uj-group-message")?.textContent,
    snap.failures.groups.find((g) => g.message.startsWith(ESCAPES)).message);
  assert.ok(group.querySelector(".uj-group-scope")?.textContent?.includes(SURROGATE_NAME));
  click(/** @type {HTMLElement} */ (group.querySelector(".uj-group-head")));
  const pre = [...group.querySelectorAll("pre")].map((p) => p.textContent).join("\n");
  assert.ok(pre.includes(ESCAPES), "the traceback keeps the escapes as characters");
  assert.equal(root.querySelectorAll("img, script, a, iframe").length, 0);
});

test("searching for text next to a lone surrogate finds its group", () => {
  const { root, view } = makeView();
  view.addInstances(fixtureInstances("hostile_text"));
  view.update(fixture("hostile_text"));
  const search = /** @type {HTMLInputElement} */ (root.querySelector("input.uj-search"));
  type(search, "screen cleared");
  assert.equal(visibleGroups(root).length, 1);
  type(search, "");
  view.update(fixture("small"));  // still drawing after the hostile snapshot
  assert.ok(rowNamed(root, "__main__.dont_roll_six"));
});
