// @ts-check
// The charts, drawn in SVG: a sweep page's strip plots and counts, a population's lines.
// They draw numbers the server computed: a strip plot's columns come with their statistics
// (converse/sweeps/_strips.py), a population's shares with its census
// (converse/web/_population.py); only the axes and the marks' places are worked out here.

import { h, s } from "./dom.js";
import { num } from "./format.js";

/** @typedef {import("./api.js").Chart} Chart */
/** @typedef {import("./api.js").Strip} Strip */

/**
 * Round numbers between `lo` and `hi`, about `count` of them.
 * @param {number} lo
 * @param {number} hi
 * @param {number} count
 * @returns {number[]}
 */
function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((m) => m >= raw) || 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(+v.toFixed(6));
  return ticks;
}

/**
 * A strip plot of one score by one dial: every run a dot, a box per setting of the dial
 * from its quartiles, the line its median, the whisker its extremes.
 * @param {Chart} chart
 */
export function stripChart(chart) {
  const { dial, score } = chart;
  /** @type {(Strip & {points: [string, number][], lowest: number, q1: number, median: number, q3: number, highest: number})[]} */
  const strips = [];
  for (const strip of chart.strips) {
    const { lowest, q1, median, q3, highest } = strip;
    if (strip.points.length && lowest !== null && q1 !== null && median !== null && q3 !== null && highest !== null)
      strips.push({ ...strip, lowest, q1, median, q3, highest }); // a setting without values has no column
  }
  const W = 520, H = 280, L = 48, R = 12, T = 16, B = 44;
  let lo = Math.min(...strips.map((x) => x.lowest)), hi = Math.max(...strips.map((x) => x.highest));
  if (lo >= 0 && hi <= 10 && !/year/i.test(score)) { lo = 0; hi = 10; }
  else { const pad = (hi - lo) * 0.1 || 1; lo -= pad; hi += pad; }
  /** @param {number} v */
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const band = (W - L - R) / Math.max(strips.length, 1);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${score} by ${dial}`, class: "chart-svg" });
  for (const t of niceTicks(lo, hi, 5)) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "gridline" }));
    svg.append(s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, String(t)));
  }
  strips.forEach((strip, i) => {
    const cx = L + band * (i + 0.5);
    const bw = Math.min(band * 0.5, 60);
    svg.append(s("line", { x1: cx, x2: cx, y1: y(strip.lowest), y2: y(strip.highest), class: "whisker" }));
    svg.append(s("rect", { x: cx - bw / 2, y: y(strip.q3), width: bw, height: Math.max(1, y(strip.q1) - y(strip.q3)), class: "box" }));
    svg.append(s("line", { x1: cx - bw / 2, x2: cx + bw / 2, y1: y(strip.median), y2: y(strip.median), class: "median" }));
    strip.points.forEach(([run, v], j) => {
      const jitter = ((j * 0.618034) % 1 - 0.5) * bw * 0.8;
      svg.append(s("circle", { cx: cx + jitter, cy: y(v), r: 3.5, class: "dot" }, s("title", null, `${run}: ${v}`)));
    });
    svg.append(s("text", { x: cx, y: H - B + 18, "text-anchor": "middle", class: "tick" }, strip.label));
    svg.append(s("text", { x: cx, y: H - B + 32, "text-anchor": "middle", class: "tick muted" }, "n=" + strip.points.length));
  });
  svg.append(s("text", { x: L + (W - L - R) / 2, y: H - 4, "text-anchor": "middle", class: "axis" }, dial));
  return h("figure", { class: "chart", "data-dial": dial, "data-score": score }, svg, h("figcaption", { text: `${score} by ${dial}` }));
}

/**
 * Bars: how many times each label occurs, most first.
 * @param {string[]} labels
 * @param {string} caption
 */
export function countChart(labels, caption) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const l of labels) counts.set(l, (counts.get(l) || 0) + 1);
  const rows = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const W = 520, row = 24, L = 230, H = rows.length * row + 10;
  const max = Math.max(...rows.map((r) => r[1]));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": caption, class: "chart-svg" });
  rows.forEach(([label, n], i) => {
    const w = ((W - L - 50) * n) / max;
    svg.append(s("text", { x: L - 8, y: i * row + 17, "text-anchor": "end", class: "tick" }, label));
    svg.append(s("rect", { x: L, y: i * row + 5, width: Math.max(w, 1), height: row - 8, class: "bar" }, s("title", null, `${label}: ${n}`)));
    svg.append(s("text", { x: L + w + 6, y: i * row + 17, class: "tick" }, String(n)));
  });
  return h("figure", { class: "chart" }, svg, h("figcaption", { text: caption }));
}

const COLOURS = 8; // the series-N classes of app.css; more lines than that share colours

/**
 * One line of a line chart: a value per step (null for none, which breaks the line).
 * @typedef {object} Series
 * @property {string} name
 * @property {(number | null)[]} values
 */

/**
 * Lines over labelled steps, one per series, each in its colour (named in the legend);
 * `percent` draws shares (0 to 1) as percentages. `name` marks the figure (`data-chart`).
 * @param {string[]} steps  the x axis, in order
 * @param {Series[]} series
 * @param {{name: string, caption: string, percent?: boolean}} opts
 */
export function lineChart(steps, series, opts) {
  const W = 520, H = 240, L = 48, R = 32, T = 12, B = 36;
  const shown = series.flatMap((line) => line.values).filter((v) => v !== null);
  const hi = opts.percent ? 1 : Math.max(1, ...shown);
  const ticks = niceTicks(0, hi, 4);
  if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + ticks[1] - ticks[0]); // the top line above the highest value
  const top = ticks[ticks.length - 1];
  /** @param {number} v */
  const y = (v) => T + (H - T - B) * (1 - v / top);
  /** @param {number} i */
  const x = (i) => L + (W - L - R) * (steps.length > 1 ? i / (steps.length - 1) : 0.5);
  /** @param {number} v */
  const text = (v) => (opts.percent ? Math.round(v * 100) + "%" : num(v));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.caption, class: "chart-svg" });
  for (const t of ticks) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "gridline" }));
    svg.append(s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, text(t)));
  }
  const room = Math.max(1, Math.floor((W - L - R) / (7 * Math.max(...steps.map((t) => t.length)) + 12)));
  const every = Math.ceil(steps.length / room); // as many labels under the axis as fit side by side
  steps.forEach((step, i) => {
    if (i % every === 0) svg.append(s("text", { x: x(i), y: H - B + 18, "text-anchor": "middle", class: "tick" }, step));
  });
  series.forEach((line, n) => {
    /** @type {string[]} */
    const path = [];
    /** @type {SVGCircleElement[]} */
    const points = [];
    let pen = "M"; // a value after none starts a new piece of the line
    line.values.forEach((v, i) => {
      if (v === null) {
        pen = "M";
        return;
      }
      path.push(`${pen}${x(i).toFixed(1)} ${y(v).toFixed(1)}`);
      pen = "L";
      points.push(s("circle", { cx: x(i), cy: y(v), r: 3, class: "point" }, s("title", null, `${line.name}, ${steps[i]}: ${text(v)}`)));
    });
    svg.append(s("g", { class: "series series-" + (n % COLOURS) }, s("path", { d: path.join(" ") || null, class: "line" }), points));
  });
  const legend = h("ul", { class: "legend" }, series.map((line, n) => h("li", { class: "series-" + (n % COLOURS) }, h("span", { class: "swatch" }), line.name)));
  return h("figure", { class: "chart", "data-chart": opts.name }, svg, legend, h("figcaption", { text: opts.caption }));
}
