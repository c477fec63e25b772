// @ts-check
// Which page the address shows (#/, #/run/PATH, #/sweep/PATH), and the visit to it: a page
// that is left stops following its run and refreshing itself, and drops late answers.

import { errorText } from "./format.js";
import { fail, live } from "./shell.js";

/**
 * The address of a run's page.
 * @param {string} path
 */
export const runHref = (path) => "#/run/" + encodeURIComponent(path);

/**
 * The address of a sweep's or dataset's page.
 * @param {string} path
 */
export const groupHref = (path) => "#/sweep/" + encodeURIComponent(path);

/** One visit to a page, until the reader goes to another. */
export class Visit {
  constructor() {
    this.current = true;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {EventSource | null} */
    this.stream = null;
  }

  /**
   * Runs `fn` in `ms` milliseconds, if the reader is still here (instead of what was due).
   * @param {() => void} fn
   * @param {number} ms
   */
  later(fn, ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.current && fn(), ms);
  }

  /**
   * The page follows this stream while the reader is here.
   * @param {EventSource} stream
   */
  follow(stream) {
    this.stream = stream;
  }

  /** The reader left: nothing more is drawn for this visit. */
  end() {
    this.current = false;
    clearTimeout(this.timer);
    this.stream?.close();
  }
}

/**
 * The pages, each shown for a path (the list, for none).
 * @typedef {object} Pages
 * @property {(visit: Visit) => Promise<void>} index
 * @property {(path: string, visit: Visit) => void} run
 * @property {(path: string, visit: Visit) => Promise<void>} sweep
 */

/**
 * Shows the page the address names, now and whenever it changes.
 * @param {Pages} pages
 */
export function startRouter(pages) {
  /** @type {Visit | null} */
  let visit = null;
  const route = () => {
    visit?.end();
    const here = (visit = new Visit());
    live.hidden = true;
    const hash = location.hash.replace(/^#\/?/, "");
    const [kind, ...rest] = hash.split("/");
    const path = decodeURIComponent(rest.join("/"));
    /** @type {Promise<void>} */
    let done;
    if (kind === "run" && path) done = Promise.resolve(pages.run(path, here));
    else if (kind === "sweep" && path) done = pages.sweep(path, here);
    else done = pages.index(here);
    done.catch((err) => here.current && fail(errorText(err)));
    window.scrollTo(0, 0);
  };
  window.addEventListener("hashchange", route);
  route();
}
