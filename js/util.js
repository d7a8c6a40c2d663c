// Small DOM and formatting helpers shared by the renderer's modules.

/**
 * @param {unknown} condition
 * @param {string} message
 * @returns {asserts condition}
 */
export function assert(condition, message) {
  if (!condition) throw new Error(`uberjob: ${message}`);
}

/**
 * Create an element. Text from user code goes in only through `text` (textContent).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, className, attrs, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (attrs) for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Set an element's text only when it changed (cheap no-op redraws).
 * @param {Element} el
 * @param {string} text
 */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * @param {Element} el
 * @param {string} name
 * @param {string} value
 */
export function setAttr(el, name, value) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/**
 * The 1.0 count text: `completed / total` before start and when finished,
 * `(completed + running) / total` while running, then `, N failed`.
 * @param {number} total
 * @param {number} completed
 * @param {number} running
 * @param {number} failed
 * @param {boolean} isRunning
 */
export function countText(total, completed, running, failed, isRunning) {
  // As uberjob 1.0 and the console: the running form only for a scope that has started and
  // not yet finished, while the run goes on.
  const started = completed + failed + running > 0;
  const finished = completed + failed >= total;
  const live = isRunning && started && !finished;
  const head = live ? `(${completed} + ${running}) / ${total}` : `${completed} / ${total}`;
  return failed > 0 ? `${head}, ${failed} failed` : head;
}

/**
 * A duration for people: `0.4s`, `12.5s`, `3m 05s`, `2h 07m`.
 * @param {number} seconds
 */
export function formatDuration(seconds) {
  if (!(seconds >= 0)) return "0s";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.floor(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Calls per second: `812 calls/s`, `3.4 calls/s`.
 * @param {number} rate
 */
export function formatRate(rate) {
  if (!(rate > 0)) return "0 calls/s";
  return `${rate < 10 ? rate.toFixed(1) : Math.round(rate).toLocaleString("en-US")} calls/s`;
}

/** @param {number} n */
export function formatInt(n) {
  return n.toLocaleString("en-US");
}
