// @ts-check
// Numbers, money and times as the page shows them. (A judge's scores come as text from the
// server, formatted once in Python: converse/transcript/_text.py's score_text.)

const nf = new Intl.NumberFormat("en");

/**
 * A count, with thousands separators; "" for none.
 * @param {number | null | undefined} n
 */
export const num = (n) => (n === null || n === undefined ? "" : nf.format(n));

/**
 * Dollars; "—" for nothing spent.
 * @param {number | null | undefined} n
 */
export const usd = (n) => (n ? "$" + (n < 0.01 ? n.toFixed(4) : n.toFixed(2)) : "—");

/**
 * A count in little room: 1.2M, 48k; "" for none.
 * @param {number | null | undefined} n
 */
export const compact = (n) =>
  n === null || n === undefined ? "" : n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? Math.round(n / 1e3) + "k" : num(n);

/**
 * A table cell's value: "—" for none.
 * @param {unknown} v
 */
export function cellText(v) {
  if (v === null || v === undefined || v === "") return "—";
  return typeof v === "number" ? num(v) : String(v);
}

/**
 * A timestamp to the second, as "2026-01-31 12:00:00".
 * @param {string | null | undefined} iso
 */
export const when = (iso) => (iso || "").replace("T", " ").slice(0, 19);

/**
 * What went wrong, as text.
 * @param {unknown} err
 */
export const errorText = (err) => String((err instanceof Error && err.message) || err);
