// Test helpers: a jsdom document as the global DOM, the shared snapshot fixtures, a view.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
const g = /** @type {any} */ (globalThis);
g.window = dom.window;
g.document = dom.window.document;
g.HTMLElement = dom.window.HTMLElement;
g.Element = dom.window.Element;

const { ProgressView } = await import("../../js/render.js");

const FIXTURES = new URL("../fixtures/snapshots/", import.meta.url);

/** @param {string} name */
export function fixture(name) {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8"));
}

/** @param {string} name */
export function fixtureInstances(name) {
  return JSON.parse(readFileSync(new URL(`${name}.instances.json`, FIXTURES), "utf8"));
}

/**
 * The shared table of durations: [seconds, text] (tests/test_console_progress.py reads it too).
 * @returns {[number, string][]}
 */
export function durationCases() {
  return JSON.parse(readFileSync(new URL("../fixtures/durations.json", import.meta.url), "utf8")).cases;
}

/**
 * A view drawing synchronously into a fresh element.
 * @param {object} [options]
 */
export function makeView(options = {}) {
  const root = document.createElement("div");
  document.body.append(root);
  const view = new ProgressView(root, { schedule: (draw) => draw(), ...options });
  return { root, view };
}

/** @param {Element} root */
export function visibleRows(root) {
  return [...root.querySelectorAll(".uj-row")].filter((r) => !(/** @type {HTMLElement} */ (r)).hidden);
}

/**
 * @param {Element} root
 * @param {string} name  the row's name text
 */
export function rowNamed(root, name) {
  const row = [...root.querySelectorAll(".uj-row")]
    .find((r) => r.querySelector(".uj-name")?.textContent === name);
  if (!row) throw new Error(`no row named ${name}`);
  return /** @type {HTMLElement} */ (row);
}

/** @param {Element} root */
export function visibleGroups(root) {
  return [...root.querySelectorAll(".uj-group")].filter((r) => !(/** @type {HTMLElement} */ (r)).hidden);
}

/** @param {Element} el @param {string} key */
export function press(el, key) {
  el.dispatchEvent(new dom.window.KeyboardEvent("keydown", { key, bubbles: true }));
}

/** @param {Element} el */
export function click(el) {
  el.dispatchEvent(new dom.window.MouseEvent("click", { bubbles: true }));
}

/** @param {HTMLInputElement} input @param {string} value */
export function type(input, value) {
  input.value = value;
  input.dispatchEvent(new dom.window.Event("input", { bubbles: true }));
}

export { dom };
