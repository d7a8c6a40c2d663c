// The anywidget entry point of uberjob's progress widget.
//
// Synced traits (set by src/uberjob/progress/_widget.py, always replaced whole):
//   _snapshot   the latest progress snapshot (docs/snapshot-schema.md)
//   _instances  every kept failure instance, set when the run ends (saved notebooks have them)
//   _stop       "" (no Stop button), "available" (a background run), "requested" (see header.js)
//   _resume     "" (no Resume button), "available" (the run ended failed, stopped or interrupted
//               and its handle can resume it), "requested" (the kernel took a resume request)
// Custom messages: the kernel streams new instances as {kind: "instances", items}; a view that
// lacks some (a reload or a second display mid-run) sends {kind: "request-instances"}. The Stop
// button sends {kind: "stop"}, the Resume button {kind: "resume"}.

import { ProgressView } from "./render.js";

/** @typedef {import("./types.js").Instance} Instance */
/** @typedef {import("./types.js").Snapshot} Snapshot */
/**
 * @typedef {{ _snapshot: DataView | Snapshot | null, _instances: Instance[], _stop: string,
 *   _resume: string }} Traits
 */
/** @typedef {import("@anywidget/types").AnyModel<Traits>} Model */

/**
 * What all views of one widget model share.
 * @typedef {object} Shared
 * @property {Map<number, Instance>} instances
 * @property {Set<ProgressView>} views
 * @property {boolean} requested  a request is out and unanswered
 * @property {number} attempt  the run's attempt whose instances these are (snapshot.resumed.count)
 * @property {(msg: any) => void} onMessage
 * @property {() => void} onInstancesTrait
 */

/**
 * The `_snapshot` trait arrives as compact JSON in a binary buffer (a DataView); a plain object
 * (older saved state, tests) is taken as it is.
 * @param {unknown} value
 * @returns {Snapshot | null}
 */
export function decodeSnapshot(value) {
  if (value instanceof DataView || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    return JSON.parse(new TextDecoder().decode(/** @type {ArrayBuffer | ArrayBufferView} */ (value)));
  }
  return value && typeof value === "object" ? /** @type {Snapshot} */ (value) : null;
}

/** @type {WeakMap<Model, Shared>} */
const shared = new WeakMap();

/**
 * @param {Model} model
 * @returns {Shared}
 */
function sharedOf(model) {
  let s = shared.get(model);
  if (s) return s;
  /** @type {Shared} */
  const state = {
    instances: new Map(),
    views: new Set(),
    requested: false,
    attempt: 0,
    onMessage(msg) {
      if (msg?.kind !== "instances" || !Array.isArray(msg.items)) return;
      state.requested = false;
      for (const view of state.views) view.addInstances(msg.items);
      for (const inst of msg.items) state.instances.set(inst.id, inst);
    },
    onInstancesTrait() {
      state.onMessage({ kind: "instances", items: model.get("_instances") ?? [] });
    },
  };
  model.on("msg:custom", state.onMessage);
  model.on("change:_instances", state.onInstancesTrait);
  state.onInstancesTrait();
  shared.set(model, state);
  return state;
}

/** @param {Model} model */
function requestInstances(model) {
  const s = sharedOf(model);
  if (s.requested) return;
  s.requested = true;
  model.send({ kind: "request-instances" });
}

/** @type {import("@anywidget/types").Initialize<Traits>} */
function initialize({ model }) {
  sharedOf(model);
  return () => {
    const s = shared.get(model);
    if (!s) return;
    model.off("msg:custom", s.onMessage);
    model.off("change:_instances", s.onInstancesTrait);
    shared.delete(model);
  };
}

/** @type {import("@anywidget/types").Render<Traits>} */
function render({ model, el }) {
  const s = sharedOf(model);
  const view = new ProgressView(el, {
    instances: s.instances,
    requestInstances: () => requestInstances(model),
    onStop: () => model.send({ kind: "stop" }),
    onResume: () => model.send({ kind: "resume" }),
  });
  s.views.add(view);
  const onStopTrait = () => view.setStop(model.get("_stop") ?? "");
  model.on("change:_stop", onStopTrait);
  onStopTrait();
  const onResumeTrait = () => view.setResume(model.get("_resume") ?? "");
  model.on("change:_resume", onResumeTrait);
  onResumeTrait();
  const onSnapshot = () => {
    const snapshot = decodeSnapshot(model.get("_snapshot"));
    // A resumed run numbers its failures from 0 again: the instances of the attempt before
    // are dropped (once per model), and any of the new attempt that came first are asked for.
    const attempt = snapshot?.resumed?.count ?? 0;
    if (snapshot && attempt !== s.attempt) {
      s.attempt = attempt;
      s.instances.clear();
      if ((snapshot.failures?.instances_kept ?? 0) > 0) requestInstances(model);
    }
    if (snapshot) view.update(snapshot);
    return snapshot;
  };
  model.on("change:_snapshot", onSnapshot);
  const kept = onSnapshot()?.failures?.instances_kept ?? 0;
  if (kept > s.instances.size) requestInstances(model);
  return () => {
    model.off("change:_snapshot", onSnapshot);
    model.off("change:_stop", onStopTrait);
    model.off("change:_resume", onResumeTrait);
    s.views.delete(view);
    view.destroy();
  };
}

export default { initialize, render };
