// The header's activity chart: calls finished per time bucket over the run (the snapshot's
// `activity` key), a small inline SVG of stacked bars, completed below and failed on top in the
// failure colour. Each bar's <title> says its numbers; the chart's aria-label sums it up. The
// model keeps at most 120 buckets (it doubles their length as the run grows), so the chart's
// width stays bounded; bars are reused across updates, never rebuilt.

import { formatDuration, formatInt, formatRate, h, setAttr, setText } from "./util.js";

/** @typedef {import("./types.js").Activity} Activity */

const SVG = "http://www.w3.org/2000/svg";
/** The chart's height and its widest width, in CSS pixels. */
export const CHART_HEIGHT = 18;
export const CHART_MAX_WIDTH = 180;
/** Pixels per bar while the chart is narrower than its widest (a short run's few buckets). */
const BAR_PX = 6;

/**
 * What one bar says: its counts, its time span, and the rate when the bucket is not one second.
 * @param {number} completed
 * @param {number} failed
 * @param {number} bucket  seconds per bucket
 * @param {number} index
 * @param {number} elapsed  the run's elapsed seconds (the last bucket is still filling)
 */
export function barLabel(completed, failed, bucket, index, elapsed) {
  const start = index * bucket;
  const span = Math.max(0, Math.min(bucket, elapsed - start)) || bucket;
  const rate = span === 1 ? "" : ` (${formatRate((completed + failed) / span)})`;
  return `${formatInt(completed)} completed, ${formatInt(failed)} failed in ${formatDuration(span)} `
    + `from ${formatDuration(start)}${rate}`;
}

/**
 * @typedef {object} Bar
 * @property {SVGGElement} g
 * @property {SVGTitleElement} title
 * @property {SVGRectElement} done
 * @property {SVGRectElement} failed
 * @property {SVGRectElement} hit   a full-height transparent rect: the tooltip's target
 * @property {string} key           what it last drew
 */

export class ActivityChart {
  constructor() {
    this.el = h("span", "uj-activity");
    this.svg = /** @type {SVGSVGElement} */ (document.createElementNS(SVG, "svg"));
    this.svg.setAttribute("class", "uj-activity-chart");
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("height", String(CHART_HEIGHT));
    this.svg.setAttribute("preserveAspectRatio", "none");
    this.el.append(this.svg);
    /** @type {Bar[]} */
    this.bars = [];
    this.el.hidden = true;
  }

  /**
   * @param {Activity | undefined} activity
   * @param {number} elapsed  the run's elapsed seconds
   */
  update(activity, elapsed) {
    const completed = Array.isArray(activity?.completed) ? activity.completed : [];
    const failed = Array.isArray(activity?.failed) ? activity.failed : [];
    const bucket = Number(activity?.bucket) > 0 ? Number(activity?.bucket) : 1;
    const n = completed.length;
    this.el.hidden = n < 2;
    if (n < 2) return;
    let max = 1;
    let allCompleted = 0;
    let allFailed = 0;
    for (let i = 0; i < n; i++) {
      const [c, f] = [completed[i] || 0, failed[i] || 0];
      max = Math.max(max, c + f);
      allCompleted += c;
      allFailed += f;
    }
    setAttr(this.svg, "width", String(Math.min(CHART_MAX_WIDTH, n * BAR_PX)));
    setAttr(this.svg, "viewBox", `0 0 ${n} ${CHART_HEIGHT}`);
    setAttr(this.svg, "aria-label", `Calls finished per ${formatDuration(bucket)}, at most `
      + `${formatInt(max)}: ${formatInt(allCompleted)} completed, ${formatInt(allFailed)} failed`);
    while (this.bars.length < n) this.bars.push(this.makeBar(this.bars.length));
    while (this.bars.length > n) /** @type {Bar} */ (this.bars.pop()).g.remove();
    for (let i = 0; i < n; i++) {
      const [c, f] = [completed[i] || 0, failed[i] || 0];
      const key = `${c}/${f}/${max}/${bucket}/${i === n - 1 ? elapsed : ""}`;
      const bar = this.bars[i];
      if (bar.key === key) continue;
      bar.key = key;
      // a bucket with any call shows at least a pixel (a quiet second is not an empty one),
      // and any failure two, to be seen
      const hf = f > 0 ? Math.min(CHART_HEIGHT, Math.max(2, (f / max) * CHART_HEIGHT)) : 0;
      const hc = c > 0 ? Math.max(1, (c / max) * CHART_HEIGHT) : 0;
      setAttr(bar.done, "y", String(CHART_HEIGHT - hc));
      setAttr(bar.done, "height", String(hc));
      setAttr(bar.failed, "y", String(Math.max(0, CHART_HEIGHT - hc - hf)));
      setAttr(bar.failed, "height", String(hf));
      setText(bar.title, barLabel(c, f, bucket, i, elapsed));
    }
  }

  /**
   * @param {number} i
   * @returns {Bar}
   */
  makeBar(i) {
    const g = /** @type {SVGGElement} */ (document.createElementNS(SVG, "g"));
    g.setAttribute("class", "uj-activity-bar");
    const title = /** @type {SVGTitleElement} */ (document.createElementNS(SVG, "title"));
    /** @param {string} cls @param {number} x @param {number} width */
    const rect = (cls, x, width) => {
      const r = /** @type {SVGRectElement} */ (document.createElementNS(SVG, "rect"));
      r.setAttribute("class", cls);
      r.setAttribute("x", String(x));
      r.setAttribute("width", String(width));
      r.setAttribute("y", "0");
      r.setAttribute("height", "0");
      return r;
    };
    const hit = rect("uj-activity-hit", i, 1);
    hit.setAttribute("height", String(CHART_HEIGHT));
    const done = rect("uj-activity-done", i + 0.1, 0.8);
    const failed = rect("uj-activity-failed", i + 0.1, 0.8);
    g.append(title, hit, done, failed);
    this.svg.append(g);
    return { g, title, done, failed, hit, key: "" };
  }
}
