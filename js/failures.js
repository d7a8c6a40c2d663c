// The failures panel: groups (count, type, message, scope), each expandable to its kept
// instances; a search box; an optional filter to the scope selected in the tree.

import { InstanceView } from "./instance.js";
import { formatDuration, formatInt, h, setAttr, setText, shortPath } from "./util.js";

/** @typedef {import("./types.js").Group} Group */
/** @typedef {import("./types.js").Failures} Failures */
/** @typedef {import("./types.js").Instance} Instance */

/**
 * @typedef {object} ScopeFilter
 * @property {string} label                 what the filter chip says
 * @property {(g: Group) => number} count    how many of a group's failures lie in the selected
 *                                           scope (0: the group is hidden)
 */

/** @typedef {(section: string, node: number) => string[]} PathOf  a tree row's scope names */

/**
 * Where a group's failures happened, in one line: its scope, or how many scopes and under what.
 * @param {Group} g
 */
export function groupScopeText(g) {
  const listed = g.scopes ?? [];
  const n = listed.length + (g.scopes_omitted ?? 0);
  if (n <= 1) return g.scope.length ? shortPath(g.scope) : "(any scope)";
  return g.scope.length ? `${formatInt(n)} scopes in ${shortPath(g.scope, 36)}`
    : `${formatInt(n)} scopes`;
}

/** Instances listed when a group opens; the rest behind a "Show more" button. */
export const INSTANCES_SHOWN = 5;

class GroupView {
  /**
   * @param {Group} group
   * @param {(id: number) => Instance | undefined} lookup
   * @param {() => void} requestMissing
   * @param {() => number} maxInstances  how many tracebacks the run keeps
   * @param {PathOf} pathOf
   */
  constructor(group, lookup, requestMissing, maxInstances, pathOf) {
    this.id = group.id;
    this.pathOf = pathOf;
    this.maxInstances = maxInstances;
    this.lookup = lookup;
    this.requestMissing = requestMissing;
    /** @type {Group} */
    this.group = group;
    /** @type {Map<number, InstanceView>} */
    this.instances = new Map();
    this.open = false;
    this.el = h("div", "uj-group", { role: "listitem", "data-group": String(group.id) });
    this.head = h("button", "uj-group-head", { type: "button", "aria-expanded": "false" });
    this.countEl = h("span", "uj-group-count");
    this.typeEl = h("span", "uj-group-type");
    this.messageEl = h("span", "uj-group-message");
    this.scopeEl = h("span", "uj-group-scope");
    this.head.append(h("span", "uj-twisty", { "aria-hidden": "true" }), this.countEl, this.typeEl,
      this.messageEl, this.scopeEl);
    this.body = h("div", "uj-group-body");
    this.body.hidden = true;
    this.when = h("div", "uj-note");
    this.scopes = h("ul", "uj-group-scopes", { "aria-label": "Failures per scope" });
    this.list = h("div", "uj-instances", { role: "list" });
    this.showAll = false;
    this.showMore = h("button", "uj-show-more", { type: "button" });
    this.showMore.addEventListener("click", () => {
      this.showAll = true;
      this.drawBody();
    });
    this.more = h("div", "uj-note");
    this.body.append(this.when, this.scopes, this.list, this.showMore, this.more);
    this.el.append(this.head, this.body);
    this.head.addEventListener("click", () => this.toggle());
    this.update(group);
  }

  toggle() {
    this.open = !this.open;
    setAttr(this.head, "aria-expanded", String(this.open));
    this.body.hidden = !this.open;
    if (this.open) this.drawBody();
  }

  /** @param {Group} g */
  update(g) {
    this.group = g;
    setAttr(this.el, "data-kept", String(g.instances.length));
    setText(this.countEl, `${formatInt(g.count)}×`);
    setText(this.typeEl, g.type);
    setText(this.messageEl, g.message);
    setAttr(this.messageEl, "title", g.message);
    setText(this.scopeEl, groupScopeText(g));
    setAttr(this.scopeEl, "title", g.scope.length ? g.scope.join(" › ") : "(any scope)");
    if (this.open) this.drawBody();
  }

  drawBody() {
    const g = this.group;
    setText(this.when, g.count > 1
      ? `First at ${formatDuration(g.first)}, latest at ${formatDuration(g.last)}.`
      : `At ${formatDuration(g.first)}.`);
    // the per-scope breakdown, when the group spans more than one scope
    const parts = g.scopes ?? [];
    const lines = parts.map(([node, count]) => {
      const path = this.pathOf(g.section, node);
      const line = h("li", "uj-group-scope-line", { title: path.join(" › ") });
      line.append(h("span", "uj-group-scope-count", {}, `${formatInt(count)}×`),
        h("span", "", {}, shortPath(path, 64)));
      return line;
    });
    if (lines.length && g.scopes_omitted > 0) {
      lines.push(h("li", "uj-note", {}, `and ${formatInt(g.scopes_omitted)} more scopes`));
    }
    const key = parts.join(";") + `+${g.scopes_omitted ?? 0}`;
    if (this.scopes.dataset.key !== key) {
      this.scopes.dataset.key = key;
      this.scopes.replaceChildren(...lines);
    }
    const shown = this.showAll ? g.instances : g.instances.slice(0, INSTANCES_SHOWN);
    for (const [k, id] of shown.entries()) {
      if (this.instances.has(id)) continue;
      const view = new InstanceView(id, k + 1, this.lookup, this.requestMissing);
      this.instances.set(id, view);
      this.list.append(view.el);
      if (k === 0) view.toggle();   // the first instance starts open
    }
    const hidden = g.instances.length - shown.length;
    this.showMore.hidden = hidden === 0;
    setText(this.showMore, `Show ${formatInt(hidden)} more instance${hidden === 1 ? "" : "s"}`);
    const notKept = g.count - g.instances.length;
    const bound = `the run keeps the first ${formatInt(this.maxInstances())} tracebacks`;
    setText(this.more, g.instances.length === 0 ? `No traceback kept for this group (${bound}).`
      : notKept > 0 ? `${formatInt(notKept)} more not kept (${bound}).` : "");
  }

  refreshInstances() {
    for (const view of this.instances.values()) view.refresh();
  }

  /** @returns {string} lower-cased text the search box matches against */
  searchText() {
    const g = this.group;
    let text = `${g.type}\n${g.message}\n${g.scope.join("\n")}`;
    for (const [node] of g.scopes ?? []) text += `\n${this.pathOf(g.section, node).join("\n")}`;
    for (const id of g.instances) {
      const inst = this.lookup(id);
      if (inst) text += `\n${inst.traceback}\n${inst.symbolic}`;
    }
    return text.toLowerCase();
  }
}

export class FailuresPanel {
  /**
   * @param {(id: number) => Instance | undefined} lookup
   * @param {() => void} requestMissing
   * @param {() => void} onClearFilter  the user removed the scope filter
   * @param {PathOf} [pathOf]  a row's scope names (the breakdown of a group by scope)
   */
  constructor(lookup, requestMissing, onClearFilter, pathOf = () => []) {
    this.lookup = lookup;
    this.pathOf = pathOf;
    this.requestMissing = requestMissing;
    /** @type {Map<number, GroupView>} */
    this.groups = new Map();
    /** @type {number[]} */
    this.order = [];
    this.query = "";
    this.isRunning = false;
    /** @type {ScopeFilter | null} */
    this.filter = null;
    /** @type {Failures | null} */
    this.failures = null;
    this.el = h("section", "uj-failures", { "aria-label": "Failures" });
    const bar = h("div", "uj-failures-bar");
    this.title = h("h3", "uj-failures-title", {}, "Failures");
    this.summary = h("span", "uj-failures-summary", { "aria-live": "polite" });
    this.chip = h("button", "uj-chip", { type: "button", title: "Show failures of every scope" });
    this.chip.hidden = true;
    this.chip.addEventListener("click", onClearFilter);
    this.search = h("input", "uj-search", {
      type: "search", placeholder: "Search failures", "aria-label": "Search failures",
    });
    this.search.addEventListener("input", () => this.setQuery(this.search.value));
    bar.append(this.title, this.summary, this.chip, this.search);
    this.list = h("div", "uj-groups", { role: "list" });
    this.footer = h("div", "uj-note");
    this.el.append(bar, this.list, this.footer);
    this.el.hidden = true;
  }

  /**
   * @param {Failures} failures
   * @param {boolean} [isRunning]
   */
  update(failures, isRunning = false) {
    this.isRunning = isRunning;
    this.failures = failures;
    this.el.hidden = failures.count === 0;
    const ids = failures.groups.map((g) => g.id);
    for (const g of failures.groups) {
      const view = this.groups.get(g.id);
      if (view) {
        if (view.group !== g) view.update(g);
      } else {
        const maxInstances = () => this.failures?.max_instances ?? 0;
        this.groups.set(g.id,
          new GroupView(g, this.lookup, this.requestMissing, maxInstances, this.pathOf));
      }
    }
    const keep = new Set(ids);
    for (const [id, view] of this.groups) {
      if (!keep.has(id)) { view.el.remove(); this.groups.delete(id); }
    }
    if (ids.length !== this.order.length || ids.some((id, k) => id !== this.order[k])) {
      this.list.append(...ids.map((id) => /** @type {GroupView} */ (this.groups.get(id)).el));
      this.order = ids;
    }
    this.applyFilters();
  }

  /** Forget every group drawn (a resumed run numbers its groups from 0 again). */
  clear() {
    for (const view of this.groups.values()) view.el.remove();
    this.groups.clear();
    this.order = [];
  }

  /** @param {string} text  what the search box holds */
  setQuery(text) {
    if (this.search.value !== text) this.search.value = text;
    this.query = text.trim().toLowerCase();
    this.applyFilters();
  }

  /** @param {ScopeFilter | null} filter */
  setFilter(filter) {
    this.filter = filter;
    this.chip.hidden = filter === null;
    setText(this.chip, filter ? `in ${filter.label} ✕` : "");
    this.applyFilters();
  }

  /** New instances arrived: fill in open instances that were waiting for them. */
  refreshInstances() {
    for (const view of this.groups.values()) view.refreshInstances();
    if (this.query) this.applyFilters();
  }

  applyFilters() {
    const total = this.failures?.count ?? 0;
    let shown = 0;
    let shownCount = 0;
    for (const view of this.groups.values()) {
      const inScope = this.filter ? this.filter.count(view.group) : view.group.count;
      const ok = inScope > 0 && (!this.query || view.searchText().includes(this.query));
      if (view.el.hidden === ok) view.el.hidden = !ok;
      if (ok) { shown++; shownCount += inScope; }
    }
    const groups = this.groups.size;
    const all = `${formatInt(total)} failed in ${formatInt(groups)} group${groups === 1 ? "" : "s"}`;
    setText(this.summary, this.filter || this.query
      ? `${formatInt(shownCount)} of ${all}` : all);
    if (shown === 0 && groups > 0) setText(this.footer, "No failures match.");
    else if (this.failures) {
      const omitted = this.failures.groups_omitted;
      setText(this.footer, omitted > 0 ? `${formatInt(omitted)} more groups not listed.` : "");
    }
  }
}
