// The header line: the run's state word (and its failures: "stopped, 9 failed"), elapsed time,
// an estimate of the time left, calls per second, the legend of the count texts, and the Stop
// button of a background run.
//
// Stop: the widget sets `stop` from its `_stop` trait (src/uberjob/progress/_widget.py): ""
// (no button: the HTML report, a blocking run), "available" (a background run) or "requested"
// (the kernel took a stop request). The button shows only while the run is pending or running.
// A click calls `onStop` (the widget sends {kind: "stop"}); from then on the button is disabled
// for good and the state word reads "stopping…" until the run's final state ("stopped") arrives.

import {
  COUNT_LEGEND, MIN_RATE_SECONDS, formatDuration, formatInt, formatRate, h, remainingSeconds,
  setAttr, setText,
} from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */

export const STATES = ["pending", "running", "done", "failed", "interrupted", "stopped"];

/** What the Stop button can be: none, offered, or asked for. */
export const STOP_STATES = ["", "available", "requested"];

export class Header {
  /** @param {{ onStop?: () => void }} [options]  `onStop`: what a click on Stop does */
  constructor(options = {}) {
    this.onStop = options.onStop ?? (() => {});
    this.el = h("div", "uj-header");
    this.state = h("span", "uj-state", { role: "status" });
    this.failed = h("span", "uj-state-failed");
    this.elapsed = h("span", "uj-elapsed", { title: "Elapsed time" });
    this.remaining = h("span", "uj-remaining", {
      title: "Estimated time left: the calls left at the average pace so far",
    });
    this.rate = h("span", "uj-rate", { title: "Finished calls per second" });
    this.legend = h("span", "uj-legend", { title: COUNT_LEGEND }, "(done + running) / total");
    this.stopButton = /** @type {HTMLButtonElement} */ (h("button", "uj-stop", {
      type: "button",
      title: "Stop: start no new calls; calls in flight finish",
      "aria-label": "Stop the run",
    }, "Stop"));
    this.stopButton.hidden = true;
    this.stopButton.addEventListener("click", () => this.clickStop());
    this.el.append(this.state, this.failed, this.elapsed, this.remaining, this.rate, this.legend,
      this.stopButton);
    /** the snapshot's state word, as last drawn */
    this.runState = "pending";
    /** "" | "available" | "requested" */
    this.stop = "";
    this.stopClicked = false;
  }

  /** @param {Snapshot} s */
  update(s) {
    const state = STATES.includes(s.state) ? s.state : "pending";
    this.runState = state;
    this.drawState();
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

  /**
   * Offer Stop (a background run), say it was asked for, or take the button away.
   * @param {string} stop  "" | "available" | "requested"
   */
  setStop(stop) {
    this.stop = STOP_STATES.includes(stop) ? stop : "";
    this.drawState();
  }

  clickStop() {
    if (this.stopButton.disabled || this.stopButton.hidden) return;
    this.stopClicked = true;
    this.drawState();
    this.onStop();
  }

  /** The state word and the Stop button, from the run's state and the stop state. */
  drawState() {
    const live = this.runState === "pending" || this.runState === "running";
    const asked = this.stop !== "" && (this.stopClicked || this.stop === "requested");
    setText(this.state, live && asked ? "stopping\u2026" : this.runState);
    setAttr(this.state, "data-state", this.runState);
    this.stopButton.hidden = !this.stop || !live;
    this.stopButton.disabled = asked;   // a stop is not taken back, even once the run is over
  }
}
