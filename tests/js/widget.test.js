import assert from "node:assert/strict";
import { test } from "node:test";
import { dom, fixture, fixtureInstances } from "./helpers.js";

const widget = (await import("../../js/widget.js")).default;

/** A stand-in for anywidget's model: traits, change events, custom messages. */
class FakeModel {
  /** @param {Record<string, any>} traits */
  constructor(traits) {
    this.traits = traits;
    /** @type {Map<string, Set<Function>>} */
    this.handlers = new Map();
    /** @type {any[]} */
    this.sent = [];
  }
  /** @param {string} k */
  get(k) { return this.traits[k]; }
  /** @param {string} k @param {any} v */
  set(k, v) { this.traits[k] = v; this.emit(`change:${k}`); }
  /** @param {string} name @param {Function} f */
  on(name, f) { (this.handlers.get(name) ?? this.handlers.set(name, new Set()).get(name))?.add(f); }
  /** @param {string} name @param {Function} f */
  off(name, f) { this.handlers.get(name)?.delete(f); }
  /** @param {string} name @param {any[]} args */
  emit(name, ...args) { for (const f of this.handlers.get(name) ?? []) f(...args); }
  /** @param {any} msg */
  send(msg) { this.sent.push(msg); }
  save_changes() {}
}

/** @param {any} snapshot */
const bytes = (snapshot) => new DataView(new TextEncoder().encode(JSON.stringify(snapshot)).buffer);
const frame = () => new Promise((resolve) => dom.window.requestAnimationFrame(() => resolve(null)));

/** @param {FakeModel} model */
async function renderInto(model) {
  const el = document.createElement("div");
  document.body.append(el);
  const props = /** @type {any} */ ({ model, el });
  const cleanup = await widget.render?.(props);
  await frame();
  return { el, cleanup: /** @type {() => void} */ (cleanup) };
}

test("the widget draws the binary snapshot trait and follows its changes", async () => {
  const snap = fixture("small");
  const model = new FakeModel({ _snapshot: bytes({ ...snap, failures: { ...snap.failures, instances_kept: 0 } }), _instances: [] });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const { el, cleanup } = await renderInto(model);
  assert.equal(el.querySelector(".uj-state")?.textContent, "running");
  model.set("_snapshot", bytes({ ...snap, state: "done" }));
  await frame();
  assert.equal(el.querySelector(".uj-state")?.textContent, "done");
  cleanup();
  assert.equal(el.children.length, 0);
});

test("streamed instances reach every view; a late view asks for the ones it missed", async () => {
  const snap = fixture("small");
  const model = new FakeModel({ _snapshot: bytes(snap), _instances: [] });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const first = await renderInto(model);
  assert.deepEqual(model.sent, [{ kind: "request-instances" }], "2 kept, 0 known");
  model.emit("msg:custom", { kind: "instances", items: fixtureInstances("small") });
  await frame();
  const second = await renderInto(model);            // a second display mid-run
  assert.equal(model.sent.length, 1, "the second view finds the instances already there");
  for (const { el } of [first, second]) {
    const head = /** @type {HTMLElement} */ (el.querySelector(".uj-group-head"));
    head.click();
    assert.match(el.querySelector(".uj-instance pre")?.textContent ?? "", /Something bad happened/);
  }
});

test("the Stop button is the header's: offered to a background run, one stop sent, then stopping…", async () => {
  const snap = fixture("small");   // running
  const model = new FakeModel({ _snapshot: bytes(snap), _instances: [], _stop: "" });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const { el, cleanup } = await renderInto(model);
  const button = /** @type {HTMLButtonElement} */ (el.querySelector(".uj-header > button.uj-stop"));
  const state = () => el.querySelector(".uj-state")?.textContent;
  assert.ok(button, "the button sits in the header");
  assert.equal(button.hidden, true, "a blocking run has no Stop button");
  model.set("_stop", "available");
  assert.equal(button.hidden, false);
  assert.equal(button.disabled, false);
  assert.equal(button.getAttribute("style"), null, "styled by widget.css, not inline");
  button.click();
  button.click();   // disabled now: no second message
  assert.deepEqual(model.sent.filter((m) => m.kind === "stop"), [{ kind: "stop" }]);
  assert.equal(button.disabled, true);
  assert.equal(state(), "stopping\u2026");
  model.set("_snapshot", bytes({ ...snap, elapsed: 9 }));   // still running: still stopping
  await frame();
  assert.equal(state(), "stopping\u2026");
  assert.equal(el.querySelector(".uj-state")?.getAttribute("data-state"), "running");
  model.set("_stop", "requested");
  model.set("_snapshot", bytes({ ...snap, state: "stopped" }));
  await frame();
  assert.equal(state(), "stopped");
  assert.equal(button.hidden, true, "no Stop once the run is over");
  assert.equal(button.disabled, true, "and a stop asked for stays asked for");
  cleanup();
  assert.equal(model.handlers.get("change:_stop")?.size ?? 0, 0, "cleanup unhooks the trait");
});

test("a stop asked for elsewhere (another view of the run) shows in every view", async () => {
  const model = new FakeModel({ _snapshot: bytes(fixture("small")), _instances: [], _stop: "available" });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const views = [await renderInto(model), await renderInto(model)];
  const [first, second] = views.map(({ el }) => /** @type {HTMLButtonElement} */ (el.querySelector("button.uj-stop")));
  first.click();
  assert.equal(second.disabled, false, "the other view learns of it from the kernel");
  model.set("_stop", "requested");
  assert.equal(second.disabled, true);
  assert.equal(views[1].el.querySelector(".uj-state")?.textContent, "stopping\u2026");
  for (const { cleanup } of views) cleanup();
});

test("the Resume button: offered once a run ended unfinished, one resume sent, gone when the run goes on", async () => {
  const snap = fixture("small");   // running
  const model = new FakeModel({ _snapshot: bytes(snap), _instances: [], _stop: "", _resume: "" });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const { el, cleanup } = await renderInto(model);
  const button = /** @type {HTMLButtonElement} */ (el.querySelector(".uj-header > button.uj-resume"));
  assert.ok(button, "the button sits in the header");
  assert.equal(button.hidden, true);
  model.set("_resume", "available");
  assert.equal(button.hidden, true, "not while the run goes on");
  for (const state of ["failed", "stopped", "interrupted"]) {
    model.set("_snapshot", bytes({ ...snap, state }));
    await frame();
    assert.equal(button.hidden, false, `offered after a ${state} run`);
  }
  model.set("_snapshot", bytes({ ...snap, state: "done" }));
  await frame();
  assert.equal(button.hidden, true, "a finished run has nothing to resume");
  model.set("_snapshot", bytes({ ...snap, state: "failed" }));
  await frame();
  assert.equal(button.textContent, "Resume");
  assert.equal(button.disabled, false);
  assert.equal(button.getAttribute("style"), null, "styled by widget.css, not inline");
  button.click();
  button.click();   // disabled now: no second message
  assert.deepEqual(model.sent.filter((m) => m.kind === "resume"), [{ kind: "resume" }]);
  assert.equal(button.disabled, true);
  assert.equal(button.textContent, "resuming\u2026");
  model.set("_resume", "requested");
  assert.equal(button.disabled, true);
  // the resumed run continues in this widget: the button goes; the header says it was resumed
  model.set("_snapshot", bytes({ ...snap, resumed: { count: 1, reused: 4, refreshed: ["dont_roll_six"] } }));
  await frame();
  assert.equal(button.hidden, true);
  assert.equal(el.querySelector(".uj-resumed")?.textContent, "resumed, 4 calls reused, 1 function redefined");
  // it fails again and the kernel offers Resume again: the button is back, ready
  model.set("_resume", "available");
  model.set("_snapshot", bytes({ ...snap, state: "failed" }));
  await frame();
  assert.equal(button.hidden, false);
  assert.equal(button.disabled, false);
  assert.equal(button.textContent, "Resume");
  cleanup();
  assert.equal(model.handlers.get("change:_resume")?.size ?? 0, 0, "cleanup unhooks the trait");
});

test("a resumed run can be stopped although the attempt before was", async () => {
  const snap = fixture("small");
  const model = new FakeModel({ _snapshot: bytes(snap), _instances: [], _stop: "available", _resume: "" });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const { el, cleanup } = await renderInto(model);
  const stop = /** @type {HTMLButtonElement} */ (el.querySelector("button.uj-stop"));
  stop.click();
  model.set("_stop", "requested");
  model.set("_snapshot", bytes({ ...snap, state: "stopped" }));
  model.set("_resume", "available");
  await frame();
  /** @type {HTMLButtonElement} */ (el.querySelector("button.uj-resume")).click();
  model.set("_resume", "requested");
  model.set("_stop", "available");   // the resumed background run offers Stop again
  model.set("_snapshot", bytes(snap));
  await frame();
  assert.equal(el.querySelector(".uj-state")?.textContent, "running", "not stopping…");
  assert.equal(stop.hidden, false);
  assert.equal(stop.disabled, false);
  cleanup();
});

test("a resume asked for in another view disables the button in every view", async () => {
  const model = new FakeModel({ _snapshot: bytes({ ...fixture("small"), state: "interrupted" }), _instances: [], _resume: "available" });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const views = [await renderInto(model), await renderInto(model)];
  const [first, second] = views.map(({ el }) => /** @type {HTMLButtonElement} */ (el.querySelector("button.uj-resume")));
  first.click();
  assert.equal(second.disabled, false, "the other view learns of it from the kernel");
  model.set("_resume", "requested");
  assert.equal(second.disabled, true);
  assert.equal(second.textContent, "resuming\u2026");
  for (const { cleanup } of views) cleanup();
});

test("a resumed run's failures replace the attempt before's, whose ids it reuses", async () => {
  const snap = fixture("small");
  const model = new FakeModel({ _snapshot: bytes(snap), _instances: fixtureInstances("small") });
  await widget.initialize?.(/** @type {any} */ ({ model }));
  const { el } = await renderInto(model);
  /** @param {string} pattern */
  const openedText = (pattern) => {
    const head = /** @type {HTMLElement} */ (el.querySelector(".uj-group-head"));
    if (!el.querySelector(".uj-instance")) head.click();
    return new RegExp(pattern).test(el.querySelector(".uj-instance pre")?.textContent ?? "");
  };
  assert.ok(openedText("Something bad happened"));
  const before = model.sent.length;
  // The resumed run: group 0 and instance 0 are a new failure now, whose instance came first.
  const group = { ...snap.failures.groups[0], type: "KeyError", message: "'region'",
    count: 1, instances: [0] };
  const resumed = { ...snap, resumed: { count: 1, reused: 5, refreshed: [] },
    failures: { ...snap.failures, count: 1, groups: [group], instances_kept: 1 } };
  model.emit("msg:custom", { kind: "instances", items: [{ id: 0, group: 0, time: 0.1,
    message: "'region'", traceback: "Traceback (most recent call last):\nKeyError: 'region'",
    symbolic: "" }] });
  model.set("_snapshot", bytes(resumed));
  await frame();
  assert.deepEqual(model.sent.slice(before), [{ kind: "request-instances" }],
    "what came before the snapshot of the new attempt is asked for again");
  assert.match(el.querySelector(".uj-group")?.textContent ?? "", /KeyError/);
  model.emit("msg:custom", { kind: "instances", items: [{ id: 0, group: 0, time: 0.1,
    message: "'region'", traceback: "Traceback (most recent call last):\nKeyError: 'region'",
    symbolic: "" }] });
  await frame();
  assert.ok(openedText("KeyError: 'region'"), "the new attempt's traceback, not the old one");
  assert.equal(el.querySelectorAll(".uj-group").length, 1);
});
