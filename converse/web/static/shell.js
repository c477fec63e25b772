// @ts-check
// The frame every page is drawn in (index.html): the main area, the breadcrumbs and the
// "live" badge; and the bits of it pages share.

import { fill, h } from "./dom.js";

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error("the page has no #" + id);
  return el;
}

export const main = byId("main");
export const live = byId("live");
const crumbs = byId("crumbs");

/**
 * Where the reader is: links up, then the page itself.
 * @param {{text: string, href?: string}[]} parts
 */
export function setCrumbs(...parts) {
  fill(crumbs,
    ...parts.flatMap((part, i) => [
      i ? h("span", { class: "sep", text: "/" }) : null,
      part.href ? h("a", { href: part.href, text: part.text }) : h("span", { text: part.text }),
    ]).filter(Boolean),
  );
}

/**
 * The page could not be shown.
 * @param {string} message
 */
export function fail(message) {
  fill(main, h("p", { class: "error", role: "alert", text: message }));
}

/**
 * A run's status as a badge (its reason on hover).
 * @param {string} status
 * @param {string} [reason]
 */
export function statusBadge(status, reason) {
  return h("span", { class: "status status-" + status, title: reason || null, text: status });
}
