// The header line: the run's state word (and its failures: "stopped, 9 failed"), whether it is a
// resumed run, elapsed time, an estimate of the time left, calls per second, the activity chart
// (activity.js), the legend of the count texts, and the Stop and Resume buttons of the widget.
//
// Stop: the widget sets `stop` from its `_stop` trait (src/uberjob/progress/_widget.py): ""
// (no button: the HTML report, a blocking run), "available" (a background run) or "requested"
// (the kernel took a stop request). The button shows only while the run is pending or running.
// A click calls `onStop` (the widget sends {kind: "stop"}); from then on the button is disabled
// for good and the state word reads "stopping…" until the run's final state ("stopped") arrives.
//
// Resume mirrors it: the widget sets `resume` from its `_resume` trait: "" (no button: the HTML
// report), "available" (the run's handle can resume it) or "requested" (the kernel took a resume
// request). The button shows only once the run ended failed, stopped or interrupted. A click
// calls `onResume` (the widget sends {kind: "resume"}) and disables the button ("resuming…").
// The resumed run continues in the same widget: its first snapshot ("running") hides the button
// and spends the clicks of the attempt before (Resume's, and Stop's: the resumed run can be
// stopped), so if it ends unfinished too and the kernel offers Resume again, the button is back.

import { ActivityChart } from "./activity.js";
import {
  COUNT_LEGEND, MIN_RATE_SECONDS, formatDuration, formatInt, formatRate, h, remainingSeconds,
  setAttr, setText,
} from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */

export const STATES = ["pending", "running", "done", "failed", "interrupted", "stopped"];

/** What the Stop button can be: none, offered, or asked for. */
export const STOP_STATES = ["", "available", "requested"];

/** What the Resume button can be: none, offered, or asked for (the same words as Stop's). */
export const RESUME_STATES = STOP_STATES;

/** The states of a run under way. */
const LIVE = ["pending", "running"];

/** The states a run can be resumed from. */
const RESUMABLE = ["failed", "stopped", "interrupted"];

export class Header {
  /**
   * @param {{ onStop?: () => void, onResume?: () => void }} [options]  what a click on Stop
   *   and on Resume do
   */
  constructor(options = {}) {
    this.onStop = options.onStop ?? (() => {});
    this.onResume = options.onResume ?? (() => {});
    this.el = h("div", "uj-header");
    this.state = h("span", "uj-state", { role: "status" });
    this.failed = h("span", "uj-state-failed");
    this.resumed = h("span", "uj-resumed");
    this.elapsed = h("span", "uj-elapsed", { title: "Elapsed time" });
    this.remaining = h("span", "uj-remaining", {
      title: "Estimated time left: the calls left at the average pace so far",
    });
    this.rate = h("span", "uj-rate", { title: "Finished calls per second" });
    this.activity = new ActivityChart();
    this.legend = h("span", "uj-legend", { title: COUNT_LEGEND }, "(done + running) / total");
    this.stopButton = /** @type {HTMLButtonElement} */ (h("button", "uj-stop", {
      type: "button",
      title: "Stop: start no new calls; calls in flight finish",
      "aria-label": "Stop the run",
    }, "Stop"));
    this.stopButton.hidden = true;
    this.stopButton.addEventListener("click", () => this.clickStop());
    this.resumeButton = /** @type {HTMLButtonElement} */ (h("button", "uj-resume", {
      type: "button",
      title: "Resume: run the calls that did not complete and what depends on them, reusing "
        + "the values of completed calls; functions redefined in the notebook replace the "
        + "planned ones",
      "aria-label": "Resume the run",
    }, "Resume"));
    this.resumeButton.hidden = true;
    this.resumeButton.addEventListener("click", () => this.clickResume());
    this.el.append(this.state, this.failed, this.resumed, this.elapsed, this.remaining, this.rate,
      this.activity.el, this.legend, this.stopButton, this.resumeButton);
    /** the snapshot's state word, as last drawn */
    this.runState = "pending";
    /** "" | "available" | "requested" */
    this.stop = "";
    this.stopClicked = false;
    /** "" | "available" | "requested" */
    this.resume = "";
    this.resumeClicked = false;
  }

  /** @param {Snapshot} s */
  update(s) {
    const state = STATES.includes(s.state) ? s.state : "pending";
    if ((state === "pending" || state === "running") && !LIVE.includes(this.runState)) {
      // a resumed run goes on in this widget: the clicks of the attempt before are spent
      this.resumeClicked = false;
      this.stopClicked = false;
    }
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
    this.activity.update(s.activity, s.elapsed);
    this.drawResumed(s.resumed);
  }

  /** @param {import("./types.js").Resumed | undefined} resumed */
  drawResumed(resumed) {
    const on = resumed !== undefined && resumed !== null && typeof resumed === "object";
    this.resumed.hidden = !on;
    if (!on) return;
    const times = resumed.count > 1 ? ` ${formatInt(resumed.count)}×` : "";
    const reused = resumed.reused ?? 0;
    const refreshed = Array.isArray(resumed.refreshed) ? resumed.refreshed.map(String) : [];
    const n = refreshed.length;
    setText(this.resumed, `resumed${times}, ${formatInt(reused)} call${reused === 1 ? "" : "s"} reused`
      + (n ? `, ${formatInt(n)} function${n === 1 ? "" : "s"} redefined` : ""));
    setAttr(this.resumed, "title", (n
      ? `Replaced by their redefinition in the notebook: ${refreshed.join(", ")}.`
      : "No planned function was replaced by a redefinition.")
      + " Completed calls of the earlier attempts were not run again.");
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

  /**
   * Offer Resume (a run that ended unfinished and can resume), say it was asked for, or take the
   * button away.
   * @param {string} resume  "" | "available" | "requested"
   */
  setResume(resume) {
    this.resume = RESUME_STATES.includes(resume) ? resume : "";
    this.drawState();
  }

  clickResume() {
    if (this.resumeButton.disabled || this.resumeButton.hidden) return;
    this.resumeClicked = true;
    this.drawState();
    this.onResume();
  }

  /** The state word and the buttons, from the run's state and the stop and resume states. */
  drawState() {
    const live = LIVE.includes(this.runState);
    const asked = this.stop !== "" && (this.stopClicked || this.stop === "requested");
    setText(this.state, live && asked ? "stopping\u2026" : this.runState);
    setAttr(this.state, "data-state", this.runState);
    this.stopButton.hidden = !this.stop || !live;
    this.stopButton.disabled = asked;   // a stop is not taken back, even once the run is over
    const resuming = this.resume === "requested" || (this.resume !== "" && this.resumeClicked);
    this.resumeButton.hidden = !this.resume || !RESUMABLE.includes(this.runState);
    this.resumeButton.disabled = resuming;
    setText(this.resumeButton, resuming ? "resuming\u2026" : "Resume");
  }
}
