// The header line: the run's state word, elapsed time and calls per second.

import { formatDuration, formatRate, h, setAttr, setText } from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */

export const STATES = ["pending", "running", "done", "failed", "interrupted", "stopped"];

export class Header {
  constructor() {
    this.el = h("div", "uj-header");
    this.state = h("span", "uj-state", { role: "status" });
    this.elapsed = h("span", "uj-elapsed", { title: "Elapsed time" });
    this.rate = h("span", "uj-rate", { title: "Finished calls per second" });
    this.el.append(this.state, this.elapsed, this.rate);
  }

  /** @param {Snapshot} s */
  update(s) {
    const state = STATES.includes(s.state) ? s.state : "pending";
    setText(this.state, state);
    setAttr(this.state, "data-state", state);
    setText(this.elapsed, formatDuration(s.elapsed));
    setText(this.rate, formatRate(s.rate));
  }
}
