// @ts-check
// A sweep's or dataset's page: a strip plot of the chosen score by each dial, and a table of
// its runs; refreshed while some still run.

import { api, getJSON } from "./api.js";
import { countChart, stripChart } from "./charts.js";
import { fill, h } from "./dom.js";
import { cellText, compact, usd } from "./format.js";
import { runHref } from "./router.js";
import { main, setCrumbs, statusBadge } from "./shell.js";
import { sortableTable } from "./table.js";

/** @typedef {import("./api.js").Group} Group */
/** @typedef {import("./api.js").SweepRunRow} SweepRunRow */
/** @typedef {import("./table.js").Column<SweepRunRow>} RowColumn */
/** @typedef {import("./table.js").SortState} SortState */
/** @typedef {import("./router.js").Visit} Visit */

/**
 * What the reader chose, kept across refreshes.
 * @typedef {object} GroupState
 * @property {string | null} score  the score charted
 * @property {Partial<SortState>} table  the table's sort
 */

/**
 * Shows the sweep or dataset at `path`; looks again every 3 s while some of its runs run.
 * @param {string} path
 * @param {Visit} visit
 * @param {GroupState} [keep]
 */
export async function showGroup(path, visit, keep) {
  setCrumbs({ text: "runs", href: "#/" }, { text: path });
  /** @type {Group} */
  const data = await getJSON(api("group", { path }));
  if (!visit.current) return;
  const state = keep || { score: null, table: {} };
  const scored = [...new Set(data.charts.map((c) => c.score))];
  if (!state.score || !scored.includes(state.score)) state.score = scored.find((c) => !c.includes("[")) || scored[0] || null;
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const r of data.rows) statuses[r.status] = (statuses[r.status] || 0) + 1;
  /** @type {HTMLElement[]} */
  const parts = [
    h("h1", { text: data.name }),
    h("p", { class: "muted", text: `${data.kind} of ${data.scenario} · ${data.rows.length} runs · ` + Object.entries(statuses).map(([k, n]) => n + " " + k).join(", ") }),
  ];
  const charts = h("div", { class: "charts" });
  if (data.dials.length && scored.length) {
    const select = h(
      "select",
      { "aria-label": "Score to chart", class: "score-select", onchange: () => { state.score = select.value; drawCharts(); } },
      scored.map((c) => h("option", { value: c, selected: c === state.score, text: c })),
    );
    const drawCharts = () => fill(charts, ...data.charts.filter((c) => c.score === state.score).map(stripChart));
    parts.push(h("h2", { text: "Scores by dial" }), h("label", { class: "picker" }, "Score ", select), charts);
    drawCharts();
  } else if (data.rows.length) {
    parts.push(h("h2", { text: "How the runs ended" }), charts);
    charts.append(countChart(data.rows.map((r) => r.reason || r.status), "runs by reason"));
  }
  /** @type {RowColumn[]} */
  const dialCols = data.dials.map((d) => ({ key: "dial:" + d, label: d, value: (r) => r.dials[d], cell: (r) => (r.dials[d] === undefined ? "—" : String(r.dials[d])) }));
  /** @type {RowColumn[]} */
  const scoreCols = data.columns.map((c) => ({ key: "score:" + c, label: c, num: true, value: (r) => r.scores[c], cell: (r) => cellText(r.scores[c]) }));
  // A run whose judge failed has no scores: say so, and why, rather than leave its cells empty.
  /** @type {RowColumn[]} */
  const judgeCols = data.rows.some((r) => r.judge_error)
    ? [{ key: "judge_error", label: "Judge", value: (r) => r.judge_error || "", cell: (r) => (r.judge_error ? h("span", { class: "error judge-failed", title: r.judge_error, text: "failed: " + r.judge_error }) : "—") }]
    : [];
  const table = sortableTable(
    [
      { key: "path", label: "Run", cell: (r) => h("a", { href: runHref(r.path), text: r.run || r.path }) },
      ...dialCols,
      { key: "seed", label: "Seed", num: true, cell: (r) => String(r.seed ?? "—") },
      { key: "status", label: "Status", cell: (r) => statusBadge(r.status, r.reason) },
      { key: "reason", label: "Reason" },
      { key: "periods", label: "Periods", num: true },
      { key: "llm_calls", label: "Calls", num: true },
      { key: "tokens", label: "Tokens", num: true, cell: (r) => compact(r.tokens) },
      { key: "cost_usd", label: "Cost", num: true, cell: (r) => usd(r.cost_usd) },
      ...judgeCols,
      ...scoreCols,
    ],
    data.rows,
    { class: "summary-table", state: state.table },
  );
  parts.push(h("h2", { text: "Summary" }), h("div", { class: "scroll" }, table));
  fill(main, ...parts);
  if (data.rows.some((r) => r.status === "running")) visit.later(() => showGroup(path, visit, state).catch(() => {}), 3000);
}
