// @ts-check
// The list of runs: every sweep and dataset, then every run on its own, refreshed as they go.

import { getJSON } from "./api.js";
import { fill, h } from "./dom.js";
import { compact, usd, when } from "./format.js";
import { groupHref, runHref } from "./router.js";
import { main, setCrumbs, statusBadge } from "./shell.js";
import { sortableTable } from "./table.js";

/** @typedef {import("./api.js").Index} Index */
/** @typedef {import("./api.js").RunRow} RunRow */
/** @typedef {import("./table.js").SortState} SortState */
/** @typedef {import("./router.js").Visit} Visit */

/**
 * What the reader made of the list, kept across its refreshes.
 * @typedef {object} IndexState
 * @property {string} q  the filter
 * @property {Partial<SortState>} groups  the sweeps' table's sort
 * @property {Partial<SortState>} runs  the runs' table's sort
 * @property {string} seen  the last answer, to redraw only when it changed
 */

/**
 * Shows the list, and looks again every 5 s.
 * @param {Visit} visit
 * @param {IndexState} [keep]
 */
export async function showIndex(visit, keep) {
  setCrumbs({ text: "runs" });
  /** @type {Index} */
  const data = await getJSON("/api/index");
  if (!visit.current) return;
  const state = keep || { q: "", groups: {}, runs: {}, seen: "" };
  const again = () => visit.later(() => showIndex(visit, state).catch(() => again()), 5000);
  const seen = JSON.stringify(data);
  if (seen === state.seen) return again(); // nothing changed: leave the page as the reader has it
  state.seen = seen;
  const hadFocus = document.activeElement && document.activeElement.matches("input[type=search]");
  const filter = h("input", { type: "search", placeholder: "Filter by run, scenario or status", "aria-label": "Filter runs", value: state.q });
  const runsBox = h("div");
  const drawRuns = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = data.runs.filter((r) => !q || [r.path, r.scenario, r.status].join(" ").toLowerCase().includes(q));
    state.q = filter.value;
    fill(runsBox, rows.length ? runsTable(rows, state.runs) : h("p", { class: "muted", text: "No runs match." }));
  };
  filter.addEventListener("input", drawRuns);
  const parts = [h("h1", { text: "Runs" }), h("p", { class: "muted path", text: data.root })];
  if (data.groups.length) {
    parts.push(
      h("h2", { text: "Sweeps and datasets" }),
      sortableTable(
        [
          { key: "name", label: "Name", cell: (g) => h("a", { href: groupHref(g.path), text: g.path }) },
          { key: "kind", label: "Kind" },
          { key: "scenario", label: "Scenario" },
          { key: "runs", label: "Runs", num: true },
          {
            key: "statuses",
            label: "Status",
            value: (g) => Object.entries(g.statuses).map(([k, n]) => n + " " + k).join(", "),
            cell: (g) => Object.entries(g.statuses).map(([k, n]) => h("span", { class: "status status-" + k, text: n + " " + k })),
          },
          { key: "tokens", label: "Tokens", num: true, cell: (g) => compact(g.tokens) },
          { key: "cost_usd", label: "Cost", num: true, cell: (g) => usd(g.cost_usd) },
        ],
        data.groups,
        { state: state.groups },
      ),
    );
  }
  parts.push(h("h2", { text: data.groups.length ? "Single runs" : "All runs" }));
  if (data.runs.length) parts.push(filter);
  parts.push(runsBox);
  if (!data.runs.length && !data.groups.length)
    parts.push(h("p", { class: "muted", text: "No runs here yet. Runs written by converse run, sweep or camel appear as they start." }));
  fill(main, ...parts);
  drawRuns();
  if (hadFocus) filter.focus();
  again();
}

/**
 * A run's scores on one line: "name value · name value".
 * @param {Record<string, number | null>} scores
 */
function scoreText(scores) {
  return Object.entries(scores || {})
    .map(([k, v]) => k + " " + (v === null ? "—" : v))
    .join(" · ");
}

/**
 * @param {RunRow[]} rows
 * @param {Partial<SortState>} state
 */
function runsTable(rows, state) {
  return sortableTable(
    [
      { key: "path", label: "Run", cell: (r) => h("a", { href: runHref(r.path), text: r.path }) },
      { key: "scenario", label: "Scenario" },
      { key: "status", label: "Status", cell: (r) => statusBadge(r.status, r.reason) },
      { key: "periods", label: "Periods", num: true },
      { key: "llm_calls", label: "Calls", num: true },
      { key: "tokens", label: "Tokens", num: true, cell: (r) => compact(r.tokens) },
      { key: "cost_usd", label: "Cost", num: true, cell: (r) => usd(r.cost_usd) },
      {
        key: "scores",
        label: "Scores",
        value: (r) => scoreText(r.scores) || (r.judge_error ? "judge failed" : ""),
        cell: (r) => {
          const text = scoreText(r.scores);
          if (!text && r.judge_error)
            return h("span", { class: "scores error judge-failed", title: "The judge failed: " + r.judge_error, text: "judge failed" });
          return h("span", { class: "scores", title: text || null, text: text || "—" });
        },
      },
      { key: "started_at", label: "Started", cell: (r) => when(r.started_at) },
    ],
    rows,
    { state },
  );
}
