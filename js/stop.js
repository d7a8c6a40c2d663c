// The Stop button of a background run's widget.
//
// The kernel sets the `_stop` trait to "available" for a background run and to "requested" once
// a stop was asked for (src/uberjob/progress/_widget.py). A click sends {kind: "stop"}; the button
// then disables and the header reads "stopping…" until the run's final state ("stopped") arrives.
// The button shows only while the run is pending or running.

import { h, setText } from "./util.js";

/** @typedef {import("./types.js").Snapshot} Snapshot */

/**
 * @param {{ get(name: string): any, send(msg: any): void, on(e: string, f: () => void): void,
 *           off(e: string, f: () => void): void }} model
 * @param {{ header: { el: HTMLElement, state: HTMLElement, update(s: Snapshot): void } }} view
 * @returns {() => void} cleanup
 */
export function attachStop(model, view) {
  const header = view.header;
  const button = /** @type {HTMLButtonElement} */ (
    h("button", "uj-stop", {
      type: "button",
      title: "Stop: start no new calls; calls in flight finish",
      "aria-label": "Stop the run",
    }, "Stop")
  );
  Object.assign(button.style, {
    marginLeft: "auto",
    font: "inherit",
    padding: "0 10px",
    cursor: "pointer",
    border: "1px solid var(--uj-bad, #cf222e)",
    borderRadius: "3px",
    color: "var(--uj-bad, #cf222e)",
    background: "transparent",
  });
  button.hidden = true;
  header.el.append(button);
  /** @type {string} */
  let state = "pending";
  let clicked = false;

  const refresh = () => {
    const stop = model.get("_stop") ?? "";
    const live = state === "pending" || state === "running";
    button.hidden = !stop || !live;
    const stopping = live && (clicked || stop === "requested");
    button.disabled = stopping;
    button.style.cursor = stopping ? "default" : "pointer";
    button.style.opacity = stopping ? "0.5" : "1";
    if (stopping) setText(header.state, "stopping\u2026");
  };

  // The header redraws its state word on every snapshot; say "stopping…" again after it.
  const update = header.update.bind(header);
  header.update = (s) => {
    update(s);
    state = s.state;
    refresh();
  };
  const onClick = () => {
    if (button.disabled) return;
    clicked = true;
    model.send({ kind: "stop" });
    refresh();
  };
  button.addEventListener("click", onClick);
  model.on("change:_stop", refresh);
  refresh();
  return () => {
    model.off("change:_stop", refresh);
    button.removeEventListener("click", onClick);
    header.update = update;
    button.remove();
  };
}
