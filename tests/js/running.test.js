// The Running panel (js/running.js, js/stack.js) and the tree's straggler marks, drawn from the
// snapshot's `running` key (docs/snapshot-schema.md, "What is running…").
import assert from "node:assert/strict";
import { test } from "node:test";
import { click, fixture, makeView, rowNamed, visibleRows } from "./helpers.js";
import { stackParts } from "../../js/stack.js";

const FN = "__main__.dont_roll_six";

/** A stack as the engine samples it: the user's frames between the library's, outermost first. */
const FRAMES = [
  { file: "/home/me/etl.py", line: 30, function: "<module>", code: "run(plan)", user: true },
  { file: "/usr/lib/python3.13/threading.py", line: 1012, function: "run", code: "self._target()", user: false },
  { file: "/usr/lib/python3.13/threading.py", line: 990, function: "_bootstrap_inner", code: "self.run()", user: false },
  { file: "/home/me/etl.py", line: 12, function: "dont_roll_six", code: "  fetch(url)  ", user: true },
  { file: "/venv/site-packages/requests/api.py", line: 73, function: "get", code: "return request()", user: false },
  { file: "/usr/lib/python3.13/socket.py", line: 720, function: "readinto", code: "return self._sock.recv_into(b)", user: false },
];

/**
 * @param {number} id
 * @param {number} elapsed
 * @param {object} [more]
 */
function call(id, elapsed, more = {}) {
  return {
    id, function: FN, section: "run", node: 3, scope: [FN], elapsed,
    straggler: false, median: null, stack: null, ...more,
  };
}

/** @param {number} id @param {number} elapsed @param {object} [stack] */
function straggler(id, elapsed, stack = { sampled: elapsed - 1, frames: FRAMES, note: null }) {
  return call(id, elapsed, { straggler: true, median: 0.5, stack });
}

/** The small fixture (running, 3 calls in flight) with a `running` key. */
function snapshot(calls = [straggler(7, 6), call(8, 2.25), call(9, 0.4)], more = {}) {
  return {
    ...fixture("small"),
    running: {
      count: calls.length, stragglers: calls.filter((c) => c.straggler).length, calls,
      omitted: 0, straggler_nodes: calls.some((c) => c.straggler) ? [["run", 3]] : [], ...more,
    },
  };
}

/** @param {Element} root */
const panel = (root) => /** @type {HTMLElement} */ (root.querySelector(".uj-running"));
/** @param {Element} root */
const callRows = (root) => /** @type {HTMLElement[]} */ ([...root.querySelectorAll(".uj-call")]);
/** @param {Element} root @param {number} id */
const callRow = (root, id) => /** @type {HTMLElement} */ (root.querySelector(`.uj-call[data-call="${id}"]`));
/** @param {HTMLElement} el */
const shown = (el) => {
  for (let e = /** @type {HTMLElement | null} */ (el); e; e = e.parentElement) if (e.hidden) return false;
  return true;
};
/** The frames of a call's stack that show, as "function:line". @param {HTMLElement} row */
const shownFrames = (row) => /** @type {HTMLElement[]} */ ([...row.querySelectorAll(".uj-frame")])
  .filter(shown).map((f) => f.querySelector(".uj-frame-where")?.textContent?.replace(/^.*line (\d+), in (.*)$/, "$2:$1"));

test("the panel lists the calls in flight in the snapshot's order, with function, scope and elapsed", () => {
  const { root, view } = makeView();
  const calls = [
    call(4, 75, { function: "etl.fetch", scope: ["daily", "eu", "etl.fetch"], node: 2 }),
    call(2, 12.3), call(5, 0.04),
  ];
  view.update(snapshot(calls, { count: 40, omitted: 37 }));
  assert.equal(panel(root).hidden, false);
  const rows = callRows(root);
  assert.deepEqual(rows.map((r) => r.dataset.call), ["4", "2", "5"]);
  assert.deepEqual(rows.map((r) => r.querySelector(".uj-call-function")?.textContent),
    ["etl.fetch", FN, FN]);
  assert.deepEqual(rows.map((r) => r.querySelector(".uj-call-elapsed")?.textContent), ["1m15s", "12s", "0.0s"]);
  // the scopes around the function; its own leaf is the function already
  assert.equal(rows[0].querySelector(".uj-call-scope")?.textContent, "daily › eu");
  assert.equal(rows[0].querySelector(".uj-call-scope")?.getAttribute("title"), "daily › eu › etl.fetch");
  assert.equal(rows[1].querySelector(".uj-call-scope")?.textContent, "");
  assert.equal(root.querySelector(".uj-running-summary")?.textContent, "40 calls in flight");
  assert.equal(panel(root).querySelector(".uj-note")?.textContent, "and 37 more running");
  // the panel sits between the header and the trees
  const order = [...root.querySelector(".uj-root")?.children ?? []].map((e) => e.className);
  assert.ok(order.indexOf("uj-running") > order.indexOf("uj-header"));
  assert.ok(order.indexOf("uj-running") < order.indexOf("uj-sections"));
});

test("rows are keyed by call id: kept across updates, reordered, removed when the call ends", () => {
  const { root, view } = makeView();
  view.update(snapshot([call(1, 3), call(2, 2), call(3, 1)]));
  const [one, two] = [callRow(root, 1), callRow(root, 2)];
  view.update(snapshot([call(2, 9), call(1, 4), call(6, 0.1)]));
  assert.equal(callRow(root, 1), one, "the element is reused");
  assert.equal(callRow(root, 2), two);
  assert.deepEqual(callRows(root).map((r) => r.dataset.call), ["2", "1", "6"]);
  assert.equal(callRow(root, 2).querySelector(".uj-call-elapsed")?.textContent, "9.0s");
  assert.equal(callRow(root, 3), null, "a call that ended leaves the panel");
  assert.equal(panel(root).querySelector(".uj-note")?.textContent, "", "nothing omitted");
});

test("a straggler is marked with the rule that flagged it; its stack shows the user's frames", () => {
  const { root, view } = makeView();
  view.update(snapshot());
  const row = callRow(root, 7);
  assert.ok(row.classList.contains("uj-is-straggler"));
  assert.ok(!callRow(root, 8).classList.contains("uj-is-straggler"));
  assert.equal(/** @type {HTMLElement} */ (callRow(root, 8).querySelector(".uj-straggler-mark")).hidden, true);
  const mark = /** @type {HTMLElement} */ (row.querySelector(".uj-straggler-mark"));
  assert.equal(mark.hidden, false);
  assert.equal(mark.textContent, "12× median");   // 6 s against a 0.5 s median
  // the small fixture's scope row has 2 completed calls
  assert.equal(mark.title, "A straggler: running 12× as long as the median duration (0.5s) of the "
    + "2 completed calls of its scope. A call is flagged once it runs over 3× that median, when "
    + "at least 5 completed.");
  assert.equal(root.querySelector(".uj-running-summary")?.textContent, "3 calls in flight, 1 straggler");
  // the first stragglers' stacks start open: user frames and the innermost, libraries folded
  const toggle = /** @type {HTMLButtonElement} */ (row.querySelector(".uj-call-toggle"));
  assert.equal(toggle.getAttribute("aria-expanded"), "true");
  assert.equal(toggle.getAttribute("aria-label"), `Stack of ${FN}`);
  assert.deepEqual(shownFrames(row), ["<module>:30", "dont_roll_six:12", "readinto:720"]);
  assert.equal(row.querySelector(".uj-stack-note")?.textContent,
    "Stack sampled at 5.0s, most recent call last:");
  const code = [...row.querySelectorAll(".uj-frame-code")].map((c) => c.textContent);
  assert.ok(code.includes("fetch(url)"), "source lines are shown trimmed");
  const libs = /** @type {HTMLButtonElement[]} */ ([...row.querySelectorAll(".uj-library-toggle")]);
  assert.deepEqual(libs.map((b) => b.textContent), ["2 library frames", "1 library frame"]);
  assert.ok(libs.every((b) => b.getAttribute("aria-expanded") === "false"));
  click(libs[1]);
  assert.deepEqual(shownFrames(row), ["<module>:30", "run:1012", "_bootstrap_inner:990",
    "dont_roll_six:12", "get:73", "readinto:720"], "one toggle opens every folded run");
  assert.ok(libs.every((b) => b.getAttribute("aria-expanded") === "true"));
  click(libs[0]);
  assert.deepEqual(shownFrames(row), ["<module>:30", "dont_roll_six:12", "readinto:720"]);
  // a call that is not a straggler has no stack and no toggle
  assert.equal(/** @type {HTMLElement} */ (callRow(root, 8).querySelector(".uj-call-toggle")).hidden, true);
  assert.equal(callRow(root, 8).querySelector(".uj-stack"), null);
});

test("the frames a stack shows: user frames and the innermost; library runs folded between", () => {
  const f = (/** @type {boolean} */ user, /** @type {number} */ line) => ({ file: "f.py", line, function: "g", code: "", user });
  const kinds = (/** @type {any[]} */ frames) => stackParts(frames)
    .map((p) => ("frame" in p ? `${p.frame.line}${p.inner ? "!" : ""}` : `[${p.library.length}]`));
  assert.deepEqual(kinds([f(true, 1), f(false, 2), f(false, 3), f(true, 4)]), ["1", "[2]", "4!"]);
  assert.deepEqual(kinds([f(false, 1), f(false, 2)]), ["[1]", "2!"], "the innermost shows even in a library");
  assert.deepEqual(kinds([f(false, 1)]), ["1!"]);
  assert.deepEqual(kinds([]), []);
});

test("a stack's open state and its library toggle survive updates and new samples", () => {
  const { root, view } = makeView();
  view.update(snapshot());
  const row = callRow(root, 7);
  const toggle = /** @type {HTMLButtonElement} */ (row.querySelector(".uj-call-toggle"));
  click(/** @type {HTMLElement} */ (row.querySelector(".uj-library-toggle")));
  const before = shownFrames(row);
  assert.equal(before.length, 6);
  // a new sample with another innermost frame: the library frames stay shown
  const frames = [...FRAMES.slice(0, 4), { file: "/home/me/etl.py", line: 14, function: "parse", code: "json.loads(s)", user: true }];
  view.update(snapshot([straggler(7, 8.5, { sampled: 8, frames, note: null }), call(8, 3)]));
  assert.equal(callRow(root, 7), row);
  assert.deepEqual(shownFrames(row), ["<module>:30", "run:1012", "_bootstrap_inner:990",
    "dont_roll_six:12", "parse:14"]);
  assert.equal(row.querySelector(".uj-stack-note")?.textContent, "Stack sampled at 8.0s, most recent call last:");
  click(toggle);   // the user closes the stack: it stays closed
  assert.equal(toggle.getAttribute("aria-expanded"), "false");
  assert.equal(/** @type {HTMLElement} */ (row.querySelector(".uj-stack")).hidden, true);
  view.update(snapshot([straggler(7, 10.5, { sampled: 10, frames, note: null })]));
  assert.equal(/** @type {HTMLElement} */ (row.querySelector(".uj-stack")).hidden, true);
  assert.equal(toggle.getAttribute("aria-expanded"), "false");
  click(/** @type {HTMLElement} */ (row.querySelector(".uj-call-function")));   // the line opens it too
  assert.equal(toggle.getAttribute("aria-expanded"), "true");
  // and the report keeps both across its reloads
  const state = JSON.parse(JSON.stringify(view.uiState()));
  assert.deepEqual(state.stacks, [[7, true, true]]);
  const { root: root2, view: view2 } = makeView();
  view2.update(snapshot([straggler(7, 10.5, { sampled: 10, frames, note: null })]));
  view2.restoreUiState(state);
  assert.equal(shownFrames(callRow(root2, 7)).length, 5);
});

test("only the first stragglers' stacks open by themselves; a stack without frames says why", () => {
  const { root, view } = makeView();
  const calls = [1, 2, 3, 4].map((id) => straggler(id, 20 - id));
  calls.push(straggler(5, 10, { sampled: 9, frames: [], note: "not available on this executor" }));
  view.update(snapshot(calls));
  const open = callRows(root).map((r) => r.querySelector(".uj-call-toggle")?.getAttribute("aria-expanded"));
  assert.deepEqual(open, ["true", "true", "true", "false", "false"]);
  const row = callRow(root, 5);
  click(/** @type {HTMLElement} */ (row.querySelector(".uj-call-toggle")));
  assert.equal(row.querySelector(".uj-stack-note")?.textContent, "No stack: not available on this executor.");
  assert.equal(row.querySelectorAll(".uj-frame").length, 0);
});

test("user text in the panel is text: function, scope, frames", () => {
  const { root, view } = makeView();
  const evil = "<img src=x onerror=alert(1)>";
  const frames = [{ file: "<script>f.py</script>", line: 1, function: "<b>fn</b>", code: "x = '<iframe>'", user: true }];
  view.update(snapshot([straggler(1, 9, { sampled: 8, frames, note: null }),
    call(2, 1, { function: evil, scope: [`<a href=x>scope</a>`, evil] })]));
  assert.equal(root.querySelectorAll("img, script, a, iframe, b").length, 0);
  assert.equal(callRow(root, 2).querySelector(".uj-call-function")?.textContent, evil);
  assert.equal(callRow(root, 2).querySelector(".uj-call-scope")?.textContent, "<a href=x>scope</a>");
  const row = callRow(root, 1);
  assert.equal(row.querySelector(".uj-frame-where")?.textContent, 'File "<script>f.py</script>", line 1, in <b>fn</b>');
  assert.equal(row.querySelector(".uj-frame-code")?.textContent, "x = '<iframe>'");
  // a lone surrogate (a file name over non-UTF-8 bytes) and terminal escapes stay characters
  const odd = "load-\udcff.csv \u001b[2J\u001b[31m";
  view.update(snapshot([straggler(3, 9, { sampled: 8, frames: [{ ...frames[0], file: odd, code: odd }], note: null }),
    call(4, 1, { function: odd, scope: [odd, odd] })]));
  assert.equal(callRow(root, 4).querySelector(".uj-call-function")?.textContent, odd);
  assert.equal(callRow(root, 3).querySelector(".uj-frame-code")?.textContent, odd.trim());
  assert.ok(callRow(root, 3).querySelector(".uj-frame-where")?.textContent?.includes(odd));
  assert.equal(root.querySelectorAll("img, script, a, iframe, b").length, 0);
});

test("a snapshot without `running`, or with no calls, draws nothing new", () => {
  const { root, view } = makeView();
  view.update(fixture("small"));
  assert.equal(panel(root).hidden, true);
  assert.equal(root.querySelectorAll(".uj-call, .uj-tree-mark").length, 0);
  view.update(snapshot());
  assert.equal(panel(root).hidden, false);
  view.update(snapshot([], { count: 0 }));   // the run ended: nothing in flight
  assert.equal(panel(root).hidden, true);
  assert.equal(root.querySelectorAll(".uj-call").length, 0);
  assert.equal(root.querySelectorAll(".uj-straggler, .uj-straggler-inside").length, 0);
  view.update(fixture("small"));
  assert.equal(panel(root).hidden, true);
});

test("the tree marks a straggler's scope row, and its ancestors so a folded tree shows it", () => {
  const { root, view } = makeView();
  const snap = fixture("deep_tree");
  const nodes = snap.sections[0].nodes;
  view.update(snap);
  // the last row that the big tree folds away by default
  let leaf = nodes.length - 1;
  const rowOf = (/** @type {number} */ i) => /** @type {HTMLElement} */ (root.querySelector(`[data-key='run/${i}']`));
  while (leaf > 0 && !rowOf(leaf).hidden) leaf--;
  assert.ok(leaf > 0 && nodes[nodes[leaf][0]][0] > 0, "a folded row two levels down");
  const leafRow = rowOf(leaf);
  const running = {
    count: 1, stragglers: 1, omitted: 0, straggler_nodes: [["run", leaf], ["stale", 5], ["run", 99999]],
    calls: [{ ...straggler(1, 30), function: nodes[leaf][1], node: leaf, scope: [nodes[leaf][1]] }],
  };
  view.update({ ...snap, state: "running", running });
  assert.ok(leafRow.classList.contains("uj-straggler"));
  const mark = /** @type {HTMLElement} */ (leafRow.querySelector(".uj-label .uj-tree-mark"));
  assert.equal(mark.textContent, "slow");
  assert.match(mark.title, /straggler/);
  const ancestors = [];
  for (let p = nodes[leaf][0]; p > 0; p = nodes[p][0]) ancestors.push(p);
  for (const p of ancestors) {
    const row = /** @type {HTMLElement} */ (root.querySelector(`[data-key='run/${p}']`));
    assert.ok(row.classList.contains("uj-straggler-inside"), `row ${p} is marked`);
    assert.equal(row.querySelector(".uj-tree-mark")?.getAttribute("title"), "A straggler is running inside this scope");
  }
  assert.ok(visibleRows(root).some((r) => r.classList.contains("uj-straggler-inside")),
    "a visible row leads to the straggler");
  assert.ok(!rowNamed(root, "Running graph").classList.contains("uj-straggler-inside"), "not the root");
  const marked = root.querySelectorAll(".uj-straggler, .uj-straggler-inside").length;
  assert.equal(marked, 1 + ancestors.length, "nothing else is marked");
  view.update({ ...snap, state: "running", running: { ...running, calls: [], straggler_nodes: [] } });
  assert.equal(root.querySelectorAll(".uj-straggler, .uj-straggler-inside").length, 0);
  assert.equal(mark.hidden, true);
});
