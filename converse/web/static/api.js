// @ts-check
// The viewer's API (converse/web/_app.py): JSON answers, and a run's items as server-sent events.

/** @typedef {import("./items.js").PageItem} PageItem */

/**
 * A run's line in a list (converse/web/_catalog.py's run_row).
 * @typedef {object} RunRow
 * @property {string} path
 * @property {string} [run]
 * @property {string} scenario
 * @property {string} status
 * @property {string} [reason]
 * @property {number} [periods]
 * @property {number} [llm_calls]
 * @property {number} [tokens]
 * @property {number} [cost_usd]
 * @property {number | null} [seed]
 * @property {string} [started_at]
 * @property {Record<string, number | null>} scores
 * @property {string} [judge_error] why the judge of a completed run gave no verdict ("" if it gave one)
 */

/**
 * A sweep's or dataset's line in the list.
 * @typedef {object} GroupRow
 * @property {string} path
 * @property {string} kind
 * @property {string} name
 * @property {string} scenario
 * @property {number} runs
 * @property {Record<string, number>} statuses
 * @property {number} tokens
 * @property {number} cost_usd
 */

/**
 * `/api/index`.
 * @typedef {object} Index
 * @property {string} root
 * @property {GroupRow[]} groups
 * @property {RunRow[]} runs
 */

/**
 * One setting's column of a strip plot: the statistics, computed by the server
 * (converse/sweeps/_strips.py's Strip); the page only draws them.
 * @typedef {object} Strip
 * @property {string} label
 * @property {[string, number][]} points  (run id, value) of each completed run that gave one
 * @property {number} runs  the completed runs
 * @property {number | null} mean
 * @property {number | null} low
 * @property {number | null} high
 * @property {number | null} lowest
 * @property {number | null} q1
 * @property {number | null} median
 * @property {number | null} q3
 * @property {number | null} highest
 */

/**
 * One score's strip plot by one dial.
 * @typedef {object} Chart
 * @property {string} score
 * @property {string} dial
 * @property {Strip[]} strips
 */

/**
 * A run of a sweep: its row, with its grid cell.
 * @typedef {RunRow & {dials: Record<string, unknown>}} SweepRunRow
 */

/**
 * `/api/group`: one sweep or dataset.
 * @typedef {object} Group
 * @property {string} path
 * @property {string} kind
 * @property {string} name
 * @property {string} scenario
 * @property {string[]} dials
 * @property {string[]} columns
 * @property {SweepRunRow[]} rows
 * @property {Chart[]} charts
 */

/**
 * `/api/call`: one model call in full.
 * @typedef {object} ModelCall
 * @property {number} call
 * @property {number} seq
 * @property {string} actor
 * @property {string} purpose
 * @property {string[]} conversation
 * @property {string} model
 * @property {Record<string, unknown>} params
 * @property {{role: string, content: string}[]} messages
 * @property {number} lost_messages how many messages of the prompt were in a line of the log that could not be read
 * @property {string} response
 * @property {{prompt_tokens: number, completion_tokens: number, estimated: boolean}} usage
 * @property {number} latency
 * @property {number} attempt
 * @property {string | null} finish_reason why the answer ended, as the server said ("length": cut off)
 * @property {string | null} structured how a structured answer's schema was sent (json_schema, json_object, prompt)
 */

/**
 * A fidelity rule a prompt broke.
 * @typedef {object} Violation
 * @property {number} seq
 * @property {string} actor
 * @property {string} rule
 * @property {string} detail
 * @property {number | null} call
 */

/**
 * `/api/audit`.
 * @typedef {object} Audit
 * @property {number} calls
 * @property {string[]} rules
 * @property {{tokens: number | null, source: string}} window
 * @property {Violation[]} violations
 */

/**
 * The URL of an API route.
 * @param {string} route
 * @param {Record<string, string | number>} params
 */
export const api = (route, params) =>
  "/api/" + route + "?" + new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

/**
 * A JSON answer; its `error` (or the status) thrown when the answer is not OK.
 * @template T
 * @param {string} url
 * @returns {Promise<T>}
 */
export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

/**
 * What to do with a run's event stream (`/api/stream`).
 * @typedef {object} StreamHandlers
 * @property {() => void} reset  start the page over
 * @property {(items: PageItem[]) => void} items  the next items
 * @property {() => void} live  the items so far are in; what comes next is new
 * @property {() => void} end  the run is over (the stream is closed)
 * @property {() => void} gone  the run's log is gone (the stream is closed)
 * @property {() => void} lost  the connection is lost for good
 */

/**
 * Follows a run's items; the EventSource, to close.
 * @param {string} path
 * @param {StreamHandlers} on
 */
export function follow(path, on) {
  const es = new EventSource(api("stream", { path }));
  es.addEventListener("reset", () => on.reset());
  es.addEventListener("items", (e) => on.items(JSON.parse(/** @type {MessageEvent<string>} */ (e).data)));
  es.addEventListener("live", () => on.live());
  es.addEventListener("end", () => {
    es.close();
    on.end();
  });
  es.addEventListener("gone", () => {
    es.close();
    on.gone();
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) on.lost();
  };
  return es;
}
