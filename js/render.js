// The shared renderer: draws progress snapshots (docs/snapshot-schema.md) into an element.
// Used by the widget (widget.js) and the HTML report (report.js). Redraws coalesce on
// requestAnimationFrame; tree rows, running calls and failure groups are keyed and updated in
// place. Top to bottom: the header, the calls running now (what a run is doing, stragglers
// first to the eye: they are the longest), the scope trees, the failures.
// Text from user code only ever enters the DOM as text (textContent, attributes).

import { FailuresPanel } from "./failures.js";
import { Header } from "./header.js";
import { RunningPanel } from "./running.js";
import { SectionTree } from "./tree.js";
import { h, setText } from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */
/** @typedef {import("./types.js").Instance} Instance */

/**
 * @typedef {object} UiState
 * @property {[string, [number, boolean][]][]} trees   per section, the rows the user folded/opened
 * @property {{ key: string, index: number } | null} selection
 * @property {string} query
 * @property {number[]} groups   the open failure groups
 * @property {[number, boolean, boolean][]} [stacks]  per running call with a stack: its id,
 *   whether the stack is open and whether its library frames are shown
 */

export const SCHEMA = 1;

/**
 * @typedef {object} ViewOptions
 * @property {() => void} [requestInstances]  ask for instances this view has not seen
 * @property {(draw: () => void) => void} [schedule]  defaults to requestAnimationFrame
 * @property {Map<number, Instance>} [instances]  a store shared with other views of the same run
 * @property {() => void} [onStop]  what the header's Stop button does (see `setStop`)
 * @property {() => void} [onResume]  what the header's Resume button does (see `setResume`)
 */

export class ProgressView {
  /**
   * @param {HTMLElement} root
   * @param {ViewOptions} [options]
   */
  constructor(root, options = {}) {
    this.root = root;
    this.schedule = options.schedule ?? defaultSchedule;
    this.requestInstances = options.requestInstances ?? (() => {});
    /** @type {Map<number, Instance>} */
    this.instances = options.instances ?? new Map();
    /** @type {Snapshot | null} */
    this.pending = null;
    this.pendingInstances = false;
    this.scheduled = false;
    this.destroyed = false;
    /** @type {Map<string, SectionTree>} */
    this.trees = new Map();
    /** @type {{ key: string, index: number } | null} */
    this.selection = null;
    this.widths = "";
    /** the attempt drawn last (snapshot.resumed.count; 0 before any resume) */
    this.attempt = 0;
    this.el = h("div", "uj-root");
    this.header = new Header({ onStop: options.onStop, onResume: options.onResume });
    this.message = h("div", "uj-note", {}, "Waiting for the run to start…");
    this.running = new RunningPanel((key, node) => this.trees.get(key)?.nodes[node]?.[3] ?? null);
    this.sections = h("div", "uj-sections");
    this.failures = new FailuresPanel(
      (id) => this.instances.get(id),
      () => this.requestInstances(),
      () => this.select(null),
      (key, node) => this.pathOf(key, node),
    );
    this.el.append(this.header.el, this.message, this.running.el, this.sections, this.failures.el);
    root.append(this.el);
  }

  /**
   * Queue a snapshot; the latest one is drawn on the next animation frame.
   * @param {Snapshot} snapshot
   */
  update(snapshot) {
    this.pending = snapshot;
    this.kick();
  }

  /**
   * Add instances (tracebacks); open failure groups fill in on the next frame.
   * @param {Instance[]} items
   */
  addInstances(items) {
    if (!Array.isArray(items) || items.length === 0) return;
    for (const inst of items) this.instances.set(inst.id, inst);
    this.pendingInstances = true;
    this.kick();
  }

  /**
   * Show the Stop button of a background run ("available"), say a stop was asked for
   * ("requested"), or have none ("", the default).
   * @param {string} stop
   */
  setStop(stop) {
    this.header.setStop(stop);
  }

  /**
   * Show the Resume button of a run that ended unfinished ("available"), say a resume was asked
   * for ("requested"), or have none ("", the default: the HTML report).
   * @param {string} resume
   */
  setResume(resume) {
    this.header.setResume(resume);
  }

  kick() {
    if (this.scheduled || this.destroyed) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  /** Draw whatever is pending now. */
  flush() {
    this.scheduled = false;
    if (this.destroyed) return;
    const snapshot = this.pending;
    this.pending = null;
    if (snapshot) this.draw(snapshot);
    if (this.pendingInstances) {
      this.pendingInstances = false;
      this.failures.refreshInstances();
    }
  }

  /** @param {Snapshot} s */
  draw(s) {
    if (!s || typeof s !== "object" || !("schema" in s)) return;
    if (s.schema !== SCHEMA) {
      this.message.hidden = false;
      setText(this.message, `uberjob: cannot draw a progress snapshot of schema ${s.schema}.`);
      return;
    }
    this.message.hidden = true;
    this.header.update(s);
    this.el.setAttribute("data-state", s.state);
    const isRunning = s.state === "running";
    for (const section of s.sections) {
      let tree = this.trees.get(section.key);
      if (!tree) {
        tree = new SectionTree(section.key, (key, index) => this.toggleSelect(key, index));
        this.trees.set(section.key, tree);
        const wrap = h("div", "uj-section", { "data-section": section.key });
        wrap.append(tree.el);
        this.sections.append(wrap);
      }
      tree.update(section, isRunning, s.elapsed);
    }
    /** @type {Map<string, number[]>} */
    const stragglers = new Map();
    for (const entry of s.running?.straggler_nodes ?? []) {
      if (!Array.isArray(entry)) continue;
      const [key, row] = entry;
      (stragglers.get(key) ?? stragglers.set(key, []).get(key))?.push(row);
    }
    for (const [key, tree] of this.trees) tree.setStragglers(stragglers.get(key) ?? []);
    this.running.update(s.running);
    // One set of column widths for every section, so that their bars line up.
    let [name, count, time] = [0, 0, 0];
    for (const tree of this.trees.values()) {
      name = Math.max(name, tree.nameChars);
      count = Math.max(count, tree.countChars);
      time = Math.max(time, tree.timeChars);
    }
    const widths = `${name}/${count}/${time}`;
    if (widths !== this.widths) {
      this.widths = widths;
      this.sections.style.setProperty("--uj-name-w", `${name}ch`);
      this.sections.style.setProperty("--uj-count-w", `${count}ch`);
      this.sections.style.setProperty("--uj-time-w", `${time}ch`);
    }
    const attempt = s.resumed?.count ?? 0;
    if (attempt !== this.attempt) {  // a resumed run's failure groups are numbered afresh
      this.attempt = attempt;
      this.failures.clear();
    }
    this.failures.update(s.failures, isRunning);
  }

  /**
   * @param {string} key
   * @param {number} index
   */
  toggleSelect(key, index) {
    const same = this.selection?.key === key && this.selection.index === index;
    this.select(same ? null : { key, index });
  }

  /**
   * Select a scope (filters the failures to it) or clear the selection.
   * @param {{ key: string, index: number } | null} selection
   */
  select(selection) {
    for (const [key, tree] of this.trees) {
      tree.setSelected(selection?.key === key ? selection.index : null);
    }
    this.selection = selection;
    const tree = selection && this.trees.get(selection.key);
    if (!selection || !tree) {
      this.failures.setFilter(null);
      return;
    }
    const { key, index } = selection;
    // The names come from the snapshot: a row inside a folded subtree was never drawn.
    const names = this.pathOf(key, index);
    const label = names.length ? names.join(" › ") : tree.nodes[0]?.[1] ?? key;
    /** @param {number} node */
    const inside = (node) => {
      for (let i = node; i >= 0; i = tree.parents[i]) if (i === index) return true;
      return false;
    };
    this.failures.setFilter({
      label,
      // a group's failures in the selected subtree: its whole count when it lies inside,
      // else the sum of its scopes that do (a group listing only some scopes may undercount)
      count: (g) => {
        if (g.section !== key) return 0;
        if (inside(g.node)) return g.count;
        let n = 0;
        for (const [node, count] of g.scopes ?? []) if (inside(node)) n += count;
        return n;
      },
    });
  }

  /**
   * The scope names of a section's row (the root's child first).
   * @param {string} key
   * @param {number} node
   * @returns {string[]}
   */
  pathOf(key, node) {
    const tree = this.trees.get(key);
    const names = [];
    if (tree) {
      for (let i = node; i > 0 && i < tree.nodes.length; i = tree.parents[i]) {
        names.unshift(tree.nodes[i][1]);
      }
    }
    return names;
  }

  /**
   * What the user opened, selected and searched: the HTML report keeps it across its reloads.
   * @returns {UiState}
   */
  uiState() {
    return {
      trees: [...this.trees].map(([key, tree]) => [key, [...tree.overrides]]),
      selection: this.selection,
      query: this.failures.search.value,
      groups: [...this.failures.groups.values()].filter((g) => g.open).map((g) => g.id),
      stacks: this.running.stackStates(),
    };
  }

  /**
   * Restore a `uiState()` after the first draw; unknown rows and groups are ignored.
   * @param {UiState} state
   */
  restoreUiState(state) {
    for (const [key, overrides] of state.trees ?? []) {
      const tree = this.trees.get(key);
      if (!tree) continue;
      for (const [i, open] of overrides) if (i < tree.rows.length) tree.setOpen(i, open);
    }
    const sel = state.selection;
    if (sel && (this.trees.get(sel.key)?.rows.length ?? 0) > sel.index) this.select(sel);
    if (state.query) this.failures.setQuery(state.query);
    for (const id of state.groups ?? []) {
      const group = this.failures.groups.get(id);
      if (group && !group.open) group.toggle();
    }
    this.running.restoreStackStates(state.stacks ?? []);
  }

  destroy() {
    this.destroyed = true;
    this.el.remove();
  }
}

/** @param {() => void} draw */
function defaultSchedule(draw) {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(draw);
  else setTimeout(draw, 16);
}
