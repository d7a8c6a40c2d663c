// One kept failure instance: a header, and when expanded the runtime and symbolic tracebacks
// side by side, each with a copy button.

import { formatDuration, h, setAttr, setText } from "./util.js";

/** @typedef {import("./types.js").Instance} Instance */

export class InstanceView {
  /**
   * @param {number} id
   * @param {number} ordinal  1 for the group's first kept instance, 2 for the next…
   * @param {(id: number) => Instance | undefined} lookup
   * @param {() => void} requestMissing  ask the kernel for instances not seen yet
   */
  constructor(id, ordinal, lookup, requestMissing) {
    this.id = id;
    this.label = `#${ordinal}`;
    this.lookup = lookup;
    this.requestMissing = requestMissing;
    this.open = false;
    this.drawn = false;
    this.el = h("div", "uj-instance", { role: "listitem", "data-instance": String(id) });
    this.head = h("button", "uj-instance-head", { type: "button", "aria-expanded": "false" });
    this.headText = h("span", "uj-instance-title", {}, this.label);
    this.head.append(h("span", "uj-twisty", { "aria-hidden": "true" }), this.headText);
    this.body = h("div", "uj-instance-body");
    this.body.hidden = true;
    this.el.append(this.head, this.body);
    this.head.addEventListener("click", () => this.toggle());
    this.refresh();
  }

  toggle() {
    this.open = !this.open;
    setAttr(this.head, "aria-expanded", String(this.open));
    this.body.hidden = !this.open;
    this.refresh();
  }

  /** Fill in what is known: the time in the header, the tracebacks once open. */
  refresh() {
    const inst = this.lookup(this.id);
    if (inst) {
      const when = `${this.label} at ${formatDuration(inst.time)}`;
      setText(this.headText, inst.message ? `${when}: ${inst.message}` : when);
    }
    if (!this.open || this.drawn) return;
    if (!inst) {
      if (!this.body.firstChild) this.body.append(h("div", "uj-note", {}, "Loading the traceback…"));
      this.requestMissing();
      return;
    }
    const pair = h("div", "uj-tb-pair");
    pair.append(
      tracebackBox("Traceback", inst.traceback),
      tracebackBox("Planned at (symbolic traceback)", inst.symbolic),
    );
    this.body.replaceChildren(pair);
    this.drawn = true;
  }
}

/**
 * @param {string} title
 * @param {string} text
 */
function tracebackBox(title, text) {
  const box = h("figure", "uj-tb");
  const caption = h("figcaption", "uj-tb-caption");
  const copy = h("button", "uj-copy", { type: "button", "aria-label": `Copy: ${title}` }, "Copy");
  caption.append(h("span", "", {}, title), copy);
  const pre = h("pre", "uj-tb-text", { tabindex: "0" }, text || "(not available)");
  copy.addEventListener("click", () => {
    const done = () => {
      copy.textContent = "Copied";
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    };
    const clip = globalThis.navigator?.clipboard;
    if (clip) clip.writeText(text).then(done, () => selectText(pre));
    else selectText(pre);
  });
  box.append(caption, pre);
  return box;
}

/**
 * Select an element's text so the user can copy it by hand (no clipboard permission).
 * @param {HTMLElement} el
 */
function selectText(el) {
  const sel = globalThis.getSelection?.();
  if (!sel) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  sel.removeAllRanges();
  sel.addRange(range);
}
