// A straggler's sampled Python stack, drawn like a traceback (outermost first, most recent call
// last): the user's frames shown, each run of library frames (the standard library,
// site-packages, uberjob) folded behind one "N library frames" toggle, the innermost frame always
// shown because it says what the call is waiting on. The toggle opens or closes every run of
// the stack at once; its state belongs to the view and survives new samples.

import { formatDuration, h, setAttr, setText } from "./util.js";

/** @typedef {import("./types.js").Stack} Stack */
/** @typedef {import("./types.js").Frame} Frame */

/**
 * Split a stack's frames into what is shown and the folded runs of library frames between.
 * @param {Frame[]} frames  outermost first
 * @returns {({ frame: Frame, inner: boolean } | { library: Frame[] })[]}
 */
export function stackParts(frames) {
  /** @type {({ frame: Frame, inner: boolean } | { library: Frame[] })[]} */
  const parts = [];
  /** @type {Frame[]} */
  let run = [];
  frames.forEach((frame, k) => {
    const inner = k === frames.length - 1;
    if (!frame.user && !inner) {
      run.push(frame);
      return;
    }
    if (run.length) parts.push({ library: run });
    run = [];
    parts.push({ frame, inner });
  });
  return parts;
}

export class StackView {
  constructor() {
    this.libraryOpen = false;
    this.key = "";
    /** @type {HTMLButtonElement[]} */
    this.toggles = [];
    /** @type {HTMLElement[]} */
    this.folds = [];
    this.el = h("div", "uj-stack");
    this.note = h("div", "uj-stack-note");
    this.frames = h("div", "uj-frames");
    this.el.append(this.note, this.frames);
  }

  /** @param {Stack} stack */
  update(stack) {
    const frames = Array.isArray(stack.frames) ? stack.frames : [];
    setText(this.note, frames.length
      ? `Stack sampled at ${formatDuration(stack.sampled)}, most recent call last:`
      : `No stack: ${stack.note || "not sampled"}.`);
    // a new sample usually holds the same frames: the DOM is rebuilt only when they differ
    const key = JSON.stringify(frames);
    if (key === this.key) return;
    this.key = key;
    this.toggles = [];
    this.folds = [];
    const nodes = stackParts(frames).map((part) => {
      if ("frame" in part) return frameView(part.frame, part.inner);
      const n = part.library.length;
      const toggle = /** @type {HTMLButtonElement} */ (h("button", "uj-library-toggle", {
        type: "button", "aria-expanded": "false",
        title: "Frames of the standard library, site-packages and uberjob",
      }));
      toggle.append(h("span", "uj-twisty", { "aria-hidden": "true" }),
        h("span", "", {}, `${n} library frame${n === 1 ? "" : "s"}`));
      toggle.addEventListener("click", () => this.setLibraryOpen(!this.libraryOpen));
      const fold = h("div", "uj-library-frames");
      fold.append(...part.library.map((f) => frameView(f, false)));
      this.toggles.push(toggle);
      this.folds.push(fold);
      const wrap = h("div", "uj-library");
      wrap.append(toggle, fold);
      return wrap;
    });
    this.frames.replaceChildren(...nodes);
    this.setLibraryOpen(this.libraryOpen);
  }

  /** @param {boolean} open  show the library frames (of every folded run) or hide them */
  setLibraryOpen(open) {
    this.libraryOpen = open;
    for (const t of this.toggles) setAttr(t, "aria-expanded", String(open));
    for (const f of this.folds) f.hidden = !open;
  }
}

/**
 * One frame as a traceback prints it: where, then the source line.
 * @param {Frame} frame
 * @param {boolean} inner  the innermost frame
 */
function frameView(frame, inner) {
  const cls = `uj-frame${frame.user ? " uj-frame-user" : ""}${inner ? " uj-frame-inner" : ""}`;
  const el = h("div", cls);
  el.append(h("div", "uj-frame-where", {},
    `File "${frame.file}", line ${frame.line}, in ${frame.function}`));
  const code = String(frame.code ?? "").trim();
  if (code) el.append(h("div", "uj-frame-code", {}, code));
  return el;
}
