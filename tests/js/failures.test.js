import assert from "node:assert/strict";
import { test } from "node:test";
import {
  click, fixture, fixtureInstances, makeView, press, rowNamed, type, visibleGroups,
} from "./helpers.js";
import { shortPath } from "../../js/util.js";

test("the failures panel lists the groups, largest first, and says what is omitted", () => {
  const { root, view } = makeView();
  const snap = fixture("many_failures");
  view.update(snap);
  const groups = root.querySelectorAll(".uj-group");
  assert.equal(groups.length, snap.failures.groups.length);
  const first = snap.failures.groups[0];
  assert.equal(groups[0].querySelector(".uj-group-count")?.textContent, `${first.count.toLocaleString("en-US")}×`);
  assert.equal(groups[0].querySelector(".uj-group-type")?.textContent, first.type);
  assert.equal(groups[0].querySelector(".uj-group-message")?.textContent, first.message);
  // the first group spans every scope (its 20 first listed, the rest counted)
  assert.equal(groups[0].querySelector(".uj-group-scope")?.textContent, "1,000 scopes");
  assert.match(root.querySelector(".uj-failures-summary")?.textContent ?? "", /^10,000 failed in 100 groups$/);
  assert.match(root.textContent ?? "", /901 more groups not listed/);
});

test("one error raised in many scopes is one group with a per-scope breakdown", () => {
  const { root, view } = makeView();
  const snap = fixture("many_failures");
  view.update(snap);
  const g = snap.failures.groups.find((/** @type {any} */ x) => x.message === "bad record b");
  const el = /** @type {HTMLElement} */ (root.querySelector(`[data-group="${g.id}"]`));
  assert.equal(el.querySelector(".uj-group-scope")?.textContent,
    `${(g.scopes.length + g.scopes_omitted).toLocaleString("en-US")} scopes`);
  click(/** @type {HTMLElement} */ (el.querySelector(".uj-group-head")));
  const lines = [...el.querySelectorAll(".uj-group-scope-line")];
  assert.equal(lines.length, g.scopes.length);
  const [node, count] = g.scopes[0];
  assert.equal(lines[0].querySelector(".uj-group-scope-count")?.textContent, `${count}×`);
  const nodes = snap.sections[0].nodes;
  assert.equal(lines[0].getAttribute("title"), `${nodes[nodes[node][0]][1]} › ${nodes[node][1]}`);
  assert.match(el.textContent ?? "", new RegExp(`and ${g.scopes_omitted} more scopes`));
});

test("scope paths are shortened from the left: the leaf tells failures apart", () => {
  assert.equal(shortPath(["a", "b"]), "a › b");
  const parts = ["customers", "regions of the north-east", "2024", "revenue.load_invoices"];
  const short = shortPath(parts, 40);
  assert.ok(short.length <= 40, short);
  assert.ok(short.startsWith("… "), short);
  assert.ok(short.endsWith("2024 › revenue.load_invoices"), short);
  assert.ok(shortPath(["x".repeat(100)], 20).endsWith("x".repeat(10)));
  assert.ok(shortPath(["x".repeat(100)], 20).length <= 20);
});

test("no failures: no panel", () => {
  const { root, view } = makeView();
  view.update(fixture("deep_tree"));
  assert.equal(/** @type {HTMLElement} */ (root.querySelector(".uj-failures")).hidden, true);
});

test("a group expands to its instances, each with both tracebacks and copy buttons", () => {
  const { root, view } = makeView();
  view.addInstances(fixtureInstances("small"));
  view.update(fixture("small"));
  const group = /** @type {HTMLElement} */ (root.querySelector(".uj-group"));
  const head = /** @type {HTMLElement} */ (group.querySelector(".uj-group-head"));
  assert.equal(head.getAttribute("aria-expanded"), "false");
  click(head);
  assert.equal(head.getAttribute("aria-expanded"), "true");
  const instances = group.querySelectorAll(".uj-instance");
  assert.equal(instances.length, 2);
  const pres = instances[0].querySelectorAll("pre");    // the first instance starts open
  assert.equal(pres.length, 2);
  assert.match(pres[0].textContent ?? "", /Something bad happened/);
  assert.match(pres[1].textContent ?? "", /^Symbolic traceback/);
  assert.equal(instances[0].querySelectorAll("button.uj-copy").length, 2);
  assert.equal(instances[1].querySelectorAll("pre").length, 0, "later instances start closed");
  click(/** @type {HTMLElement} */ (instances[1].querySelector(".uj-instance-head")));
  assert.equal(instances[1].querySelectorAll("pre").length, 2);
});

test("instances not yet received are requested, then drawn when they arrive", () => {
  let requests = 0;
  const { root, view } = makeView({ requestInstances: () => { requests++; } });
  view.update(fixture("small"));
  click(/** @type {HTMLElement} */ (root.querySelector(".uj-group-head")));
  assert.ok(requests > 0);
  assert.match(root.querySelector(".uj-instance-body")?.textContent ?? "", /Loading/);
  view.addInstances(fixtureInstances("small"));
  assert.match(root.querySelector(".uj-instance-body pre")?.textContent ?? "", /Something bad/);
});

test("selecting a scope in the tree filters the failures to its subtree", () => {
  const { root, view } = makeView();
  const snap = fixture("many_failures");
  view.update(snap);
  const g = snap.failures.groups.find((/** @type {any} */ x) => x.scope.length > 0);
  const scopeTop = g.scope[0];
  const row = rowNamed(root, scopeTop);
  click(/** @type {HTMLElement} */ (row.querySelector(".uj-name")));
  assert.equal(row.getAttribute("aria-selected"), "true");
  // a group shows when it lies in the scope or one of its listed scopes does
  const nodes = snap.sections[0].nodes;
  const top = (/** @type {number} */ i) => { while (nodes[i][0] > 0) i = nodes[i][0]; return nodes[i][1]; };
  const expected = snap.failures.groups.filter((/** @type {any} */ x) => x.scope[0] === scopeTop
    || x.scopes.some((/** @type {[number, number]} */ [node]) => top(node) === scopeTop));
  const shown = visibleGroups(root);
  assert.equal(shown.length, expected.length);
  assert.ok(shown.length < snap.failures.groups.length);
  const chip = /** @type {HTMLElement} */ (root.querySelector(".uj-chip"));
  assert.equal(chip.hidden, false);
  assert.match(chip.textContent ?? "", new RegExp(`in ${scopeTop}`));
  click(chip);                                    // the chip clears the filter
  assert.equal(visibleGroups(root).length, snap.failures.groups.length);
  assert.equal(row.getAttribute("aria-selected"), "false");
  press(row, "Enter");                            // Enter selects, again: deselects
  assert.equal(visibleGroups(root).length, expected.length);
  press(row, "Enter");
  assert.equal(visibleGroups(root).length, snap.failures.groups.length);
});

test("search filters groups by type, message, scope and traceback text", () => {
  const { root, view } = makeView();
  const snap = fixture("many_failures");
  view.addInstances(fixtureInstances("many_failures"));
  view.update(snap);
  const search = /** @type {HTMLInputElement} */ (root.querySelector("input.uj-search"));
  const type0 = snap.failures.groups[0].type;
  type(search, type0.toUpperCase());
  const expected = snap.failures.groups.filter((/** @type {any} */ g) => g.type === type0 ||
    g.message.toLowerCase().includes(type0.toLowerCase()));
  assert.ok(visibleGroups(root).length >= expected.length);
  assert.ok(visibleGroups(root).length < snap.failures.groups.length);
  type(search, "no such text anywhere 12345");
  assert.equal(visibleGroups(root).length, 0);
  assert.match(root.textContent ?? "", /No failures match/);
  type(search, "");
  assert.equal(visibleGroups(root).length, snap.failures.groups.length);
});

test("hostile text from user code stays text", () => {
  const { root, view } = makeView();
  const snap = fixture("hostile_text");
  view.addInstances(fixtureInstances("hostile_text"));
  view.update(snap);
  for (const head of root.querySelectorAll(".uj-group-head")) click(head);
  assert.equal(root.querySelectorAll("img, script, b, a").length, 0);
  const names = [...root.querySelectorAll(".uj-name")].map((n) => n.textContent);
  assert.ok(names.includes("<img src=x onerror=alert(1)>"));
  const messages = [...root.querySelectorAll(".uj-group-message")].map((n) => n.textContent);
  assert.ok(messages.includes(snap.failures.groups[0].message));
  assert.ok(messages.some((m) => m?.includes("<script>alert(1)</script>")));
  const pre = [...root.querySelectorAll("pre")].map((p) => p.textContent).join("\n");
  assert.match(pre, /<script>alert\(1\)<\/script>/);
});

test("updates change counts in place and keep open groups open", () => {
  const { root, view } = makeView();
  const snap = fixture("small");
  view.addInstances(fixtureInstances("small"));
  view.update(snap);
  const group = /** @type {HTMLElement} */ (root.querySelector(".uj-group"));
  click(/** @type {HTMLElement} */ (group.querySelector(".uj-group-head")));
  const g = { ...snap.failures.groups[0], count: 7 };
  view.update({ ...snap, failures: { ...snap.failures, count: 7, groups: [g] } });
  assert.equal(root.querySelector(".uj-group"), group);
  assert.equal(group.querySelector(".uj-group-count")?.textContent, "7×");
  assert.equal(group.querySelector(".uj-group-head")?.getAttribute("aria-expanded"), "true");
  assert.match(group.textContent ?? "", /5 more not kept \(the run keeps the first 100 tracebacks\)/);
});

test("a big group lists its first instances and the rest on demand", () => {
  const { root, view } = makeView();
  const snap = fixture("small");
  const ids = Array.from({ length: 12 }, (_, k) => k);
  const g = { ...snap.failures.groups[0], count: 12, instances: ids };
  view.addInstances(ids.map((id) => ({ id, group: g.id, time: id, traceback: `tb ${id}`, symbolic: "s" })));
  view.update({ ...snap, failures: { ...snap.failures, count: 12, groups: [g] } });
  click(/** @type {HTMLElement} */ (root.querySelector(".uj-group-head")));
  assert.equal(root.querySelectorAll(".uj-instance").length, 5);
  const more = /** @type {HTMLElement} */ (root.querySelector(".uj-show-more"));
  assert.equal(more.textContent, "Show 7 more instances");
  click(more);
  assert.equal(root.querySelectorAll(".uj-instance").length, 12);
  assert.equal(more.hidden, true);
  const titles = [...root.querySelectorAll(".uj-instance-title")].map((t) => t.textContent);
  assert.equal(titles[0], "#1 at 0.0s");
  assert.equal(titles[11], "#12 at 11s");
});
