// The header line: the run's state word (and its failures: "stopped, 9 failed"), elapsed time,
// an estimate of the time left, calls per second, and the legend of the count texts.

import {
  COUNT_LEGEND, MIN_RATE_SECONDS, formatDuration, formatInt, formatRate, h, remainingSeconds,
  setAttr, setText,
} from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */

export const STATES = ["pending", "running", "done", "failed", "interrupted", "stopped"];

export class Header {
  constructor() {
    this.el = h("div", "uj-header");
    this.state = h("span", "uj-state", { role: "status" });
    this.failed = h("span", "uj-state-failed");
    this.elapsed = h("span", "uj-elapsed", { title: "Elapsed time" });
    this.remaining = h("span", "uj-remaining", {
      title: "Estimated time left: the calls left at the average pace so far",
    });
    this.rate = h("span", "uj-rate", { title: "Finished calls per second" });
    this.legend = h("span", "uj-legend", { title: COUNT_LEGEND }, "(done + running) / total");
    this.el.append(this.state, this.failed, this.elapsed, this.remaining, this.rate, this.legend);
  }

  /** @param {Snapshot} s */
  update(s) {
    const state = STATES.includes(s.state) ? s.state : "pending";
    setText(this.state, state);
    setAttr(this.state, "data-state", state);
    const failed = s.failures?.count ?? 0;
    setText(this.failed, failed > 0 ? `${formatInt(failed)} failed` : "");
    setText(this.elapsed, formatDuration(s.elapsed));
    setText(this.rate, s.elapsed >= MIN_RATE_SECONDS ? formatRate(s.rate) : "");
    let left = null;
    if (state === "running") {
      let total = 0;
      let finished = 0;
      for (const section of s.sections) {
        const root = section.nodes[0];
        if (root) { total += root[2]; finished += root[3] + root[5]; }
      }
      left = remainingSeconds(total, finished, s.elapsed);
    }
    setText(this.remaining, left === null ? "" : `about ${formatDuration(left)} left`);
    this.legend.hidden = state !== "running";
  }
}
