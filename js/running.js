// The Running panel: the calls in flight, longest first as the snapshot lists them (its
// `running` key, docs/snapshot-schema.md), each with its function, scope and elapsed time; a
// straggler carries a mark saying the rule that flagged it, and its sampled stack (stack.js)
// opens under it. Rows are keyed by the call's id and updated in place, so a stack the user
// opened or closed stays so while the call runs; a snapshot without calls hides the panel.

import { StackView } from "./stack.js";
import { formatDuration, formatInt, h, setAttr, setText, shortPath } from "./util.js";

/** @typedef {import("./types.js").Running} Running */
/** @typedef {import("./types.js").RunningCall} RunningCall */

/** Stragglers whose stack opens by itself (the first ones listed); the rest open on a click. */
export const STACKS_OPEN = 3;

/** The engine's rule (docs/snapshot-schema.md): more than this many medians is a straggler. */
const STRAGGLER_FACTOR = 3;
const STRAGGLER_MIN_COMPLETED = 5;

/**
 * How many medians a call has been running: `12×`, `4.5×`.
 * @param {number} elapsed
 * @param {number} median
 */
export function timesMedian(elapsed, median) {
  const ratio = elapsed / median;
  return `${ratio >= 10 ? formatInt(Math.round(ratio)) : ratio.toFixed(1)}×`;
}

/**
 * A straggler mark's tooltip: why the call was flagged.
 * @param {RunningCall} call
 * @param {number | null} completed  its scope's completed calls, when known
 */
export function stragglerTitle(call, completed) {
  if (!(typeof call.median === "number" && call.median > 0)) return "A straggler: slower than its scope's completed calls";
  const of = completed === null ? "the completed calls" : `the ${formatInt(completed)} completed calls`;
  return `A straggler: running ${timesMedian(call.elapsed, call.median)} as long as the median `
    + `duration (${formatDuration(call.median)}) of ${of} of its scope. A call is flagged once it `
    + `runs over ${STRAGGLER_FACTOR}× that median, when at least ${STRAGGLER_MIN_COMPLETED} completed.`;
}

class CallView {
  /**
   * @param {RunningCall} call
   * @param {(section: string, node: number) => number | null} completedOf
   */
  constructor(call, completedOf) {
    this.id = call.id;
    this.completedOf = completedOf;
    /** @type {boolean | null} the stack's open state; null until it has a stack */
    this.open = null;
    /** @type {RunningCall | null} the call as last drawn */
    this.call = null;
    this.el = h("div", "uj-call", { role: "listitem", "data-call": String(call.id) });
    this.line = h("div", "uj-call-line");
    this.toggle = /** @type {HTMLButtonElement} */ (h("button", "uj-call-toggle", {
      type: "button", "aria-expanded": "false",
    }));
    this.toggle.append(h("span", "uj-twisty", { "aria-hidden": "true" }));
    this.toggle.hidden = true;
    this.toggle.addEventListener("click", () => this.setOpen(!this.open));
    this.functionEl = h("span", "uj-call-function");
    this.scopeEl = h("span", "uj-call-scope");
    this.mark = h("span", "uj-straggler-mark");
    this.elapsedEl = h("span", "uj-call-elapsed");
    this.line.append(this.toggle, this.functionEl, this.scopeEl, this.mark, this.elapsedEl);
    // a click anywhere on the line opens the stack too (the button is the keyboard's way)
    this.line.addEventListener("click", (e) => {
      if (!this.toggle.hidden && !this.toggle.contains(/** @type {Node} */ (e.target))) this.toggle.click();
    });
    /** @type {StackView | null} */
    this.stack = null;
    this.el.append(this.line);
  }

  /**
   * @param {RunningCall} call
   * @param {boolean} openByDefault  used the first time the call has a stack
   */
  update(call, openByDefault) {
    this.call = call;
    const fn = String(call.function ?? "");
    setText(this.functionEl, fn);
    setAttr(this.functionEl, "title", fn);
    // the scope's leaf is usually the function itself: the line shows the scopes around it
    const scope = Array.isArray(call.scope) ? call.scope.map(String) : [];
    const around = scope.length && scope[scope.length - 1] === fn ? scope.slice(0, -1) : scope;
    setText(this.scopeEl, around.length ? shortPath(around, 40) : "");
    setAttr(this.scopeEl, "title", scope.join(" › "));
    setText(this.elapsedEl, formatDuration(call.elapsed));
    setAttr(this.elapsedEl, "title", "Running for");
    const straggler = call.straggler === true;
    this.el.classList.toggle("uj-is-straggler", straggler);
    this.mark.hidden = !straggler;
    if (straggler) {
      const median = typeof call.median === "number" && call.median > 0 ? call.median : null;
      setText(this.mark, median === null ? "straggler" : `${timesMedian(call.elapsed, median)} median`);
      setAttr(this.mark, "title", stragglerTitle(call, this.completedOf(call.section, call.node)));
    }
    const stack = call.stack && typeof call.stack === "object" ? call.stack : null;
    this.toggle.hidden = stack === null;
    if (stack) {
      if (!this.stack) {
        this.stack = new StackView();
        this.el.append(this.stack.el);
        setAttr(this.toggle, "aria-label", `Stack of ${fn}`);
      }
      this.stack.update(stack);
      if (this.open === null) this.open = openByDefault;
      this.setOpen(this.open);
    } else if (this.stack) {
      this.stack.el.hidden = true;   // no longer a straggler: the stack's state waits, unused
    }
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.open = open;
    setAttr(this.toggle, "aria-expanded", String(open));
    if (this.stack) this.stack.el.hidden = !open || this.toggle.hidden;
  }
}

export class RunningPanel {
  /**
   * @param {(section: string, node: number) => number | null} completedOf  a scope row's
   *   completed calls (the straggler mark's tooltip counts them)
   */
  constructor(completedOf = () => null) {
    this.completedOf = completedOf;
    /** @type {Map<number, CallView>} */
    this.calls = new Map();
    /** @type {number[]} */
    this.order = [];
    this.fnChars = 0;
    this.el = h("section", "uj-running", { "aria-label": "Running calls" });
    const bar = h("div", "uj-running-bar");
    this.title = h("h3", "uj-running-title", {}, "Running");
    this.summary = h("span", "uj-running-summary");
    bar.append(this.title, this.summary);
    this.list = h("div", "uj-calls", { role: "list" });
    this.footer = h("div", "uj-note");
    this.el.append(bar, this.list, this.footer);
    this.el.hidden = true;
  }

  /** @param {Running | undefined} running */
  update(running) {
    const calls = running && Array.isArray(running.calls) ? running.calls : [];
    this.el.hidden = calls.length === 0;
    const count = Math.max(running?.count ?? 0, calls.length);
    const stragglers = running?.stragglers ?? 0;
    setText(this.summary, `${formatInt(count)} call${count === 1 ? "" : "s"} in flight`
      + (stragglers > 0 ? `, ${formatInt(stragglers)} straggler${stragglers === 1 ? "" : "s"}` : ""));
    let stragglersSeen = 0;
    for (const call of calls) {
      let view = this.calls.get(call.id);
      if (!view) {
        view = new CallView(call, this.completedOf);
        this.calls.set(call.id, view);
      }
      if (call.straggler) stragglersSeen++;
      if (view.call !== call) view.update(call, call.straggler === true && stragglersSeen <= STACKS_OPEN);
    }
    // one function column for every line; the names are monospace, about 0.6em a character
    const fnChars = Math.min(40, Math.max(10, ...calls.map((c) => String(c.function ?? "").length)));
    if (fnChars !== this.fnChars) {
      this.fnChars = fnChars;
      this.list.style.setProperty("--uj-fn-w", `${(fnChars * 0.62).toFixed(1)}em`);
    }
    const ids = calls.map((c) => c.id);
    const keep = new Set(ids);
    for (const [id, view] of this.calls) {
      if (!keep.has(id)) { view.el.remove(); this.calls.delete(id); }
    }
    if (ids.length !== this.order.length || ids.some((id, k) => id !== this.order[k])) {
      this.list.append(...ids.map((id) => /** @type {CallView} */ (this.calls.get(id)).el));
      this.order = ids;
    }
    const omitted = running?.omitted ?? 0;
    setText(this.footer, omitted > 0 ? `and ${formatInt(omitted)} more running` : "");
  }

  /** @returns {[number, boolean, boolean][]} per call with a stack: id, open, library frames shown */
  stackStates() {
    /** @type {[number, boolean, boolean][]} */
    const states = [];
    for (const view of this.calls.values()) {
      if (view.open !== null) states.push([view.id, view.open, view.stack?.libraryOpen ?? false]);
    }
    return states;
  }

  /** @param {[number, boolean, boolean][]} states  from `stackStates()`; unknown calls ignored */
  restoreStackStates(states) {
    for (const [id, open, library] of states) {
      const view = this.calls.get(id);
      if (!view || !view.stack) continue;
      view.setOpen(open);
      view.stack.setLibraryOpen(library);
    }
  }
}
