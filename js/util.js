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
  const [c, r, t] = [completed, running, total].map(formatInt);
  const head = live ? `(${c} + ${r}) / ${t}` : `${c} / ${t}`;
  return failed > 0 ? `${head}, ${formatInt(failed)} failed` : head;
}

/** What the count text means, for its tooltip and the legend. */
export const COUNT_LEGEND = "(done + running) / total: calls finished, calls running now, "
  + "calls planned; then how many failed";

/** A run shorter than this shows no rate: a 3-call run's "246 calls/s" says nothing. */
export const MIN_RATE_SECONDS = 1;

/**
 * The estimated seconds left for `total` calls of which `finished` took `elapsed` seconds, or
 * null while there is not enough to go on (the first seconds, the first few calls) and once all
 * finished. Used for the whole run and for each scope (the same rule as the console's).
 * @param {number} total
 * @param {number} finished  completed + failed
 * @param {number} elapsed   seconds since the run started
 * @returns {number | null}
 */
export function remainingSeconds(total, finished, elapsed) {
  if (finished >= total || elapsed < 2 || finished < 5) return null;
  return ((total - finished) * elapsed) / finished;
}

/**
 * A scope path for a line with `maxChars` room: its parts joined by " › ", shortened from the
 * left (the leaf, the function and its nearest scopes, tells failures apart).
 * @param {string[]} parts
 * @param {number} [maxChars]
 */
export function shortPath(parts, maxChars = 48) {
  const full = parts.join(" › ");
  if (full.length <= maxChars) return full;
  let text = parts[parts.length - 1] ?? "";
  for (let k = parts.length - 2; k >= 0; k--) {
    const next = `${parts[k]} › ${text}`;
    if (next.length + 2 > maxChars) break;
    text = next;
  }
  if (text.length + 2 > maxChars) text = text.slice(text.length - maxChars + 2);
  return `… ${text}`;
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

/**
 * About how wide `text` is in `ch` (the width of "0") in a UI font with tabular digits: digits
 * are 1ch, punctuation and spaces narrower, letters a little narrower. Column widths use it, so
 * that a count column is not a quarter wider than its text.
 * @param {string} text
 */
export function textWidthCh(text) {
  let width = 0;
  for (const c of text) {
    if (c >= "0" && c <= "9") width += 1;
    else if (c === "," || c === "." || c === " " || c === "(" || c === ")") width += 0.45;
    else if (c === "+" || c === "/" || c === "~") width += 0.85;
    else width += 0.9;
  }
  return width;
}
