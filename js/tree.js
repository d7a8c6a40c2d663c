// One section's scope tree: a flat ARIA tree whose rows are keyed by index and updated in place.
// Rows of scopes with a straggler in flight carry a mark, and their ancestors a smaller one, so
// that a folded tree still shows where to look.

import {
  COUNT_LEGEND, countText, formatDuration, h, remainingSeconds, setAttr, textWidthCh,
} from "./util.js";
import { defaultOpen } from "./fold.js";

/** @typedef {import("./types.js").Row} Row */

/** How a registry run names the rows of its store reads and writes. */
const STORE_ROW = /\((?:(up to date), )?(?:read from store|written to store)\)$/;
/** @typedef {import("./types.js").Section} Section */

/**
 * @typedef {object} RowView
 * @property {HTMLElement} el
 * @property {HTMLElement} label
 * @property {HTMLElement} name
 * @property {HTMLElement} bar
 * @property {HTMLElement} count
 * @property {HTMLElement} time
 * @property {number} depth
 * @property {Row | null} last   the row as last drawn (null: never drawn)
 * @property {string} text       the count text as last drawn
 * @property {HTMLElement[]} segments  the bar's completed, running and failed parts
 * @property {string[]} widths   their widths as last drawn
 * @property {string} timeText
 * @property {boolean} stale     changed while hidden: draw when shown
 * @property {HTMLElement | null} mark  the straggler mark (made the first time one is needed)
 */

/** The straggler marks' words and tooltips: on a straggler's scope row, and on its ancestors. */
const MARKS = {
  straggler: ["slow", "A call of this scope is a straggler: running over 3× the median duration "
    + "of its completed calls. Its stack is under Running."],
  inside: ["", "A straggler is running inside this scope"],
};
/** The room a mark takes beside a name, in ch (widget.css: .uj-tree-mark). */
const MARK_CHARS = { straggler: 6, inside: 2, none: 0 };

export class SectionTree {
  /**
   * @param {string} key  the section key ("stale" or "run")
   * @param {(key: string, index: number) => void} onSelect  a row was chosen (click, Enter)
   */
  constructor(key, onSelect) {
    this.key = key;
    this.onSelect = onSelect;
    /** @type {RowView[]} */
    this.rows = [];
    /** @type {number[]} */
    this.parents = [];
    /** @type {number[][]} */
    this.children = [];
    /** @type {number[]} display (depth-first) order of row indices */
    this.order = [];
    /** @type {boolean[]} */
    this.defaults = [];
    /** @type {Map<number, boolean>} open states the user chose */
    this.overrides = new Map();
    /** @type {Row[]} */
    this.nodes = [];
    this.isRunning = false;
    this.elapsed = 0;
    /** in ch: what the name, count and time columns need (the view lines sections up) */
    this.nameChars = 16;
    this.countChars = 12;
    this.timeChars = 4;
    this.focused = 0;
    /** @type {number | null} */
    this.selected = null;
    /** @type {Map<number, "straggler" | "inside">} the rows marked now */
    this.marks = new Map();
    this.el = h("div", "uj-tree", { role: "tree", "aria-label": key });
    this.el.addEventListener("keydown", (e) => this.onKey(e));
    this.el.addEventListener("click", (e) => this.onClick(e));
    // A row focused by a click, by Tab or by assistive technology is the current row: the
    // arrow keys move from it.
    this.el.addEventListener("focusin", (e) => this.onFocusIn(e));
  }

  /** @param {number} i */
  isOpen(i) {
    return this.overrides.get(i) ?? this.defaults[i] ?? false;
  }

  /**
   * Draw a section. Only rows whose numbers changed touch the DOM.
   * @param {Section} section
   * @param {boolean} isRunning  count texts use the running form
   * @param {number} [elapsed]  the run's elapsed seconds (for the time-left estimates)
   */
  update(section, isRunning, elapsed = 0) {
    const nodes = section.nodes;
    setAttr(this.el, "aria-label", section.title);
    this.nodes = nodes;
    this.isRunning = isRunning;
    this.elapsed = elapsed;
    if (nodes.length !== this.rows.length) this.grow(nodes);
    let timeChars = 3;
    for (let i = 0; i < nodes.length; i++) {
      const v = this.rows[i];
      if (v.el.hidden) v.stale = true;   // drawn when its parent opens
      else this.drawRow(i, nodes[i], isRunning);
      timeChars = Math.max(timeChars, textWidthCh(v.timeText));
    }
    // the count column fits the root's text, the longest (its numbers are the largest)
    this.countChars = Math.ceil(Math.max(10, textWidthCh(this.rows[0]?.text ?? "")) + 1);
    this.timeChars = Math.ceil(timeChars + 1);
  }

  /** @param {Row[]} nodes */
  grow(nodes) {
    const start = this.rows.length;
    for (let i = start; i < nodes.length; i++) {
      const parent = nodes[i][0];
      this.parents.push(parent);
      this.children.push([]);
      if (parent >= 0) this.children[parent].push(i);
      this.rows.push(this.makeRow(i));
    }
    this.defaults = defaultOpen(this.parents);
    this.measureNames();
    this.order = [];
    /** @type {number[]} */
    const stack = nodes.length ? [0] : [];
    while (stack.length) {
      const i = /** @type {number} */ (stack.pop());
      this.order.push(i);
      const kids = this.children[i];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
    }
    // insert the new rows at their depth-first place, walking backwards so `next` is placed
    for (let k = this.order.length - 1; k >= 0; k--) {
      const i = this.order[k];
      if (i < start) continue;
      const next = k + 1 < this.order.length ? this.rows[this.order[k + 1]].el : null;
      this.el.insertBefore(this.rows[i].el, next);
    }
    if (start === 0) this.rows[0].el.tabIndex = 0;
    this.refreshVisibility();
  }

  /** The name column's width: the widest indented name, with room for its straggler mark. */
  measureNames() {
    let nameWidth = 16;   // in ch; an em is about 1.8ch in UI fonts
    for (let i = 0; i < this.rows.length; i++) {
      const mark = MARK_CHARS[this.marks.get(i) ?? "none"];
      nameWidth = Math.max(nameWidth,
        (this.rows[i].depth * 1.15 + 1.4) * 1.8 + (this.nodes[i]?.[1].length ?? 0) + mark);
    }
    this.nameChars = Math.min(Math.ceil(nameWidth), 56);
  }

  /** @param {number} i */
  makeRow(i) {
    let depth = 0;
    for (let p = this.parents[i]; p >= 0; p = this.parents[p]) depth++;
    const el = h("div", "uj-row", {
      role: "treeitem", "aria-level": String(depth + 1), "aria-selected": "false",
      tabindex: "-1", "data-key": `${this.key}/${i}`,
    });
    const label = h("span", "uj-label");
    el.style.setProperty("--uj-depth", String(depth));   // the label and (narrow) the bar indent
    const name = h("span", "uj-name");
    label.append(h("span", "uj-twisty", { "aria-hidden": "true" }), name);
    const bar = h("span", "uj-bar", { role: "progressbar", "aria-valuemin": "0" });
    const segments = ["uj-bar-done", "uj-bar-running", "uj-bar-failed"].map((c) => h("span", c));
    bar.append(...segments);
    const count = h("span", "uj-count", { title: COUNT_LEGEND });
    const time = h("span", "uj-time");
    el.append(label, bar, count, time);
    return {
      el, label, name, bar, segments, count, time, depth,
      last: null, text: "", widths: ["", "", ""], timeText: "", stale: false, mark: null,
    };
  }

  /**
   * Draw one row, touching only what changed since it was last drawn.
   * @param {number} i
   * @param {Row} row
   * @param {boolean} isRunning
   */
  drawRow(i, row, isRunning) {
    const v = this.rows[i];
    v.stale = false;
    const last = v.last;
    const [, name, total, completed, running, failed, time] = row;
    if (!last || last[1] !== name) {
      // a registry run's store reads and writes (src/uberjob/_registry/physical.py): their
      // bars are told apart from computed calls, an up-to-date value's most of all
      const store = STORE_ROW.exec(name);
      v.el.classList.toggle("uj-store", store !== null);
      v.el.classList.toggle("uj-fresh", store?.[1] !== undefined);
      v.name.textContent = name;
      v.name.title = name;
      v.bar.setAttribute("aria-label", name);
    }
    if (!last || last[2] !== total) v.bar.setAttribute("aria-valuemax", String(total));
    if (!last || last[3] !== completed) v.bar.setAttribute("aria-valuenow", String(completed));
    const text = countText(total, completed, running, failed, isRunning);
    if (text !== v.text) {
      v.count.textContent = text;
      v.bar.setAttribute("aria-valuetext", text);
      v.text = text;
    }
    const widths = [completed, running, failed].map((n) => (total > 0 ? `${(100 * n) / total}%` : "0%"));
    for (let k = 0; k < 3; k++) {
      if (widths[k] !== v.widths[k]) v.segments[k].style.width = widths[k];
    }
    v.widths = widths;
    // While the run goes on, a scope under way shows the time it has left, once there is
    // enough to go on; otherwise its share of the run's time.
    const left = isRunning ? remainingSeconds(total, completed + failed, this.elapsed) : null;
    const timeText = left !== null ? `${formatDuration(left)} left`
      : time >= 1 ? formatDuration(time) : "";
    if (timeText !== v.timeText) {
      v.time.textContent = timeText;
      v.time.title = left !== null
        ? "Estimated time left for this scope: its calls left at its average pace so far"
        : timeText ? `${time.toFixed(2)} s of the run's time (uniform share)` : "";
      v.time.classList.toggle("uj-left", left !== null);
      v.timeText = timeText;
    }
    if (!last || (last[5] > 0) !== (failed > 0)) v.el.classList.toggle("uj-has-failed", failed > 0);
    v.last = row;
  }

  refreshVisibility() {
    /** @type {boolean[]} */
    const shown = new Array(this.rows.length).fill(false);
    for (const i of this.order) {
      const p = this.parents[i];
      shown[i] = p < 0 || (shown[p] && this.isOpen(p));
      const v = this.rows[i];
      const el = v.el;
      if (el.hidden === shown[i]) el.hidden = !shown[i];
      if (shown[i] && v.stale) this.drawRow(i, this.nodes[i], this.isRunning);
      if (this.children[i].length > 0) setAttr(el, "aria-expanded", String(this.isOpen(i)));
      else el.removeAttribute("aria-expanded");
    }
    if (!shown[this.focused]) {
      let p = this.focused;
      while (p > 0 && !shown[p]) p = this.parents[p];
      this.moveFocus(p, false);
    }
  }

  /**
   * @param {number} i
   * @param {boolean} [open]  omitted: toggle
   */
  setOpen(i, open) {
    if (this.children[i]?.length === 0) return;
    this.overrides.set(i, open ?? !this.isOpen(i));
    this.refreshVisibility();
  }

  /**
   * Mark the rows of scopes with a straggler in flight, and (more quietly) their ancestors but
   * the root; only rows whose mark changed are touched.
   * @param {Iterable<number>} rows
   */
  setStragglers(rows) {
    /** @type {Map<number, "straggler" | "inside">} */
    const marks = new Map();
    for (const i of rows) {
      if (!(i >= 0 && i < this.rows.length)) continue;
      marks.set(i, "straggler");
      for (let p = this.parents[i]; p > 0; p = this.parents[p]) {
        if (!marks.has(p)) marks.set(p, "inside");
      }
    }
    let changed = marks.size !== this.marks.size;
    for (const [i, kind] of marks) {
      if (this.marks.get(i) !== kind) { this.drawMark(i, kind); changed = true; }
    }
    for (const i of this.marks.keys()) if (!marks.has(i)) this.drawMark(i, null);
    this.marks = marks;
    if (changed) this.measureNames();
  }

  /**
   * @param {number} i
   * @param {"straggler" | "inside" | null} kind
   */
  drawMark(i, kind) {
    const v = this.rows[i];
    v.el.classList.toggle("uj-straggler", kind === "straggler");
    v.el.classList.toggle("uj-straggler-inside", kind === "inside");
    if (!kind) {
      if (v.mark) v.mark.hidden = true;
      return;
    }
    if (!v.mark) {
      v.mark = h("span", "uj-tree-mark", { role: "img" });
      v.label.append(v.mark);
    }
    const [text, title] = MARKS[kind];
    v.mark.hidden = false;
    v.mark.textContent = text;
    v.mark.title = title;
    v.mark.setAttribute("aria-label", title);
  }

  /** @param {number | null} i */
  setSelected(i) {
    if (this.selected !== null) this.rows[this.selected]?.el.setAttribute("aria-selected", "false");
    this.selected = i;
    if (i !== null) this.rows[i]?.el.setAttribute("aria-selected", "true");
  }

  /**
   * @param {number} i
   * @param {boolean} [focus]  also move the keyboard focus (not only the tab stop)
   */
  moveFocus(i, focus = true) {
    const prev = this.rows[this.focused];
    if (prev) prev.el.tabIndex = -1;
    this.focused = i;
    const row = this.rows[i];
    if (!row) return;
    row.el.tabIndex = 0;
    if (focus) row.el.focus();
  }

  /** @param {MouseEvent} e */
  onClick(e) {
    const target = /** @type {Element} */ (e.target);
    const rowEl = target.closest(".uj-row");
    if (!rowEl) return;
    const i = this.rows.findIndex((r) => r.el === rowEl);
    if (i < 0) return;
    this.moveFocus(i);
    if (target.closest(".uj-twisty")) this.setOpen(i);
    else this.onSelect(this.key, i);
  }

  /** @param {FocusEvent} e */
  onFocusIn(e) {
    const rowEl = /** @type {Element} */ (e.target).closest?.(".uj-row");
    if (!rowEl) return;
    const i = this.rows.findIndex((r) => r.el === rowEl);
    if (i >= 0 && i !== this.focused) this.moveFocus(i, false);
  }

  /** @param {KeyboardEvent} e */
  onKey(e) {
    const visible = this.order.filter((i) => !this.rows[i].el.hidden);
    const at = visible.indexOf(this.focused);
    const i = this.focused;
    const kids = this.children[i] ?? [];
    switch (e.key) {
      case "ArrowDown": this.moveFocus(visible[Math.min(at + 1, visible.length - 1)]); break;
      case "ArrowUp": this.moveFocus(visible[Math.max(at - 1, 0)]); break;
      case "Home": this.moveFocus(visible[0]); break;
      case "End": this.moveFocus(visible[visible.length - 1]); break;
      case "ArrowRight":
        if (kids.length && !this.isOpen(i)) this.setOpen(i, true);
        else if (kids.length) this.moveFocus(kids[0]);
        break;
      case "ArrowLeft":
        if (kids.length && this.isOpen(i)) this.setOpen(i, false);
        else if (this.parents[i] >= 0) this.moveFocus(this.parents[i]);
        break;
      case "Enter": case " ": this.onSelect(this.key, i); break;
      default: return;
    }
    e.preventDefault();
  }
}
