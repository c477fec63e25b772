// @ts-check
// The dialog that shows one model call in full: its whole prompt, parameters and answer.

import { api, getJSON } from "./api.js";
import { fill, h } from "./dom.js";
import { errorText, num } from "./format.js";

/** @typedef {import("./api.js").ModelCall} ModelCall */

/**
 * Opens the dialog on call `number` of the run at `path`.
 * @param {string} path
 * @param {number} number
 */
export async function showCall(path, number) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById("call"));
  const body = /** @type {HTMLElement} */ (document.getElementById("call-body"));
  const title = /** @type {HTMLElement} */ (document.getElementById("call-title"));
  title.textContent = "Model call " + number;
  fill(body, h("p", { class: "muted", text: "Loading…" }));
  if (!dialog.open) dialog.showModal();
  try {
    /** @type {ModelCall} */
    const c = await getJSON(api("call", { path, call: number }));
    /** @type {[string, string | number][]} */
    const meta = [
      ["agent", c.actor],
      ["purpose", c.purpose],
      ["conversation", c.conversation.join(" / ")],
      ["model", c.model],
      ["tokens", `${num(c.usage.prompt_tokens)} in, ${num(c.usage.completion_tokens)} out` +
        (c.usage.estimated ? " (estimated: the server sent no usage)" : "")],
      ...(c.finish_reason ? [["ending", c.finish_reason === "length" ? "cut off at max_tokens (length)" : c.finish_reason]] : []),
      ...(c.structured ? [["structured output", c.structured === "prompt" ? "schema in the prompt only" : `held to the schema by the server (${c.structured})`]] : []),
      ["latency", c.latency.toFixed(3) + " s"],
      ["seq", c.seq],
    ];
    fill(body,
      h("dl", { class: "meta" }, meta.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      h("details", null, h("summary", { text: "parameters" }), h("pre", { text: JSON.stringify(c.params, null, 2) })),
      h("h3", { text: `Prompt (${c.messages.length} messages)` }),
      c.lost_messages ? h("p", { class: "error lost", text: lostText(c.lost_messages) }) : null,
      h("div", { class: "messages" }, c.messages.map((m) => h("div", { class: "message role-" + m.role }, h("div", { class: "role", text: m.role }), h("pre", { text: m.content })))),
      h("h3", { text: "Answer" }),
      h("div", { class: "message role-answer" }, h("pre", { text: c.response })),
    );
  } catch (err) {
    fill(body, h("p", { class: "error", text: errorText(err) }));
  }
}

/**
 * What the dialog says of the messages of a prompt that the log lost.
 * @param {number} n
 */
function lostText(n) {
  const some = n > 1 ? `${num(n)} messages of this prompt are missing: they were` : "1 message of this prompt is missing: it was";
  return `${some} in a line of the log that could not be read.`;
}
