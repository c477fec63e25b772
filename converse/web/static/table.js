// @ts-check
// A table whose columns sort: a click on a heading sorts by it, a second click the other way.

import { fill, h } from "./dom.js";
import { cellText } from "./format.js";

/** @typedef {import("./dom.js").Children} Children */

/**
 * A column: `value` is what it sorts by (the row's `key` by default), `cell` what it shows
 * (the value as text by default); `num` right-aligns it and sorts it descending first.
 * @template R
 * @typedef {object} Column
 * @property {string} key
 * @property {string} label
 * @property {(row: R) => unknown} [value]
 * @property {(row: R) => Children} [cell]
 * @property {boolean} [num]
 */

/**
 * How a table is sorted; kept by the caller, it keeps the sort across a refresh.
 * @typedef {object} SortState
 * @property {string | null} sortKey
 * @property {number} sortDir  1 ascending, -1 descending
 */

/**
 * @template R
 * @typedef {object} TableOptions
 * @property {Partial<SortState>} [state]
 * @property {string} [sortKey]
 * @property {number} [sortDir]
 * @property {string} [class]
 * @property {(row: R) => string | null} [rowClass]
 */

/**
 * A sortable table of `rows`.
 * @template {object} R
 * @param {Column<R>[]} columns
 * @param {R[]} rows
 * @param {TableOptions<R>} [opts]
 * @returns {HTMLTableElement}
 */
export function sortableTable(columns, rows, opts = {}) {
  const state = opts.state || { sortKey: opts.sortKey || null, sortDir: opts.sortDir || 1 };
  let sortKey = state.sortKey ?? null;
  let sortDir = state.sortDir ?? 1;
  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table", { class: "grid" + (opts.class ? " " + opts.class : "") }, thead, tbody);
  /** @type {(row: R, key: string) => unknown} */
  const field = (row, key) => /** @type {Record<string, unknown>} */ (row)[key];
  function draw() {
    const col = columns.find((c) => c.key === sortKey);
    const sorted = rows.slice();
    if (col) {
      const value = col.value || ((/** @type {R} */ r) => field(r, col.key));
      sorted.sort((a, b) => compare(value(a), value(b)) * sortDir);
    }
    fill(thead,
      h(
        "tr",
        null,
        columns.map((c) =>
          h(
            "th",
            {
              scope: "col",
              class: c.num ? "num" : null,
              "aria-sort": c.key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none",
            },
            h("button", {
              type: "button",
              class: "sort",
              "data-key": c.key,
              text: c.label,
              onclick: () => {
                sortDir = sortKey === c.key ? -sortDir : c.num ? -1 : 1;
                sortKey = c.key;
                Object.assign(state, { sortKey, sortDir });
                draw();
              },
            }),
          ),
        ),
      ),
    );
    fill(tbody,
      ...sorted.map((row) =>
        h(
          "tr",
          { class: opts.rowClass ? opts.rowClass(row) : null },
          columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell ? c.cell(row) : cellText(field(row, c.key)))),
        ),
      ),
    );
  }
  draw();
  return table;
}

/**
 * The order of two cells: numbers by value, anything else as text (numbers in it by value);
 * empty cells last.
 * @param {unknown} a
 * @param {unknown} b
 * @returns {number}
 */
function compare(a, b) {
  const emptyA = a === null || a === undefined || a === "";
  const emptyB = b === null || b === undefined || b === "";
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1; // empties last
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}
