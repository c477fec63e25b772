// @ts-check
// A run's page: it follows the run's items (converse/web/_items.py) as they come and puts
// each where it names. Where things go was decided on the server; this only places them.

import { api, follow, getJSON } from "./api.js";
import { showCall } from "./call.js";
import { fill, h } from "./dom.js";
import { errorText, num, usd, when } from "./format.js";
import { KINDS } from "./items.js";
import { PopulationPanel } from "./population.js";
import { live, main, setCrumbs, statusBadge } from "./shell.js";
import { sortableTable } from "./table.js";

/** @typedef {import("./items.js").PageItem} PageItem */
/** @typedef {import("./items.js").Head} Head */
/** @typedef {import("./items.js").Status} Status */
/** @typedef {import("./items.js").Turn} Turn */
/** @typedef {import("./items.js").Period} Period */
/** @typedef {import("./items.js").Statement} Statement */
/** @typedef {import("./items.js").Line} Line */
/** @typedef {import("./items.js").Debate} Debate */
/** @typedef {import("./items.js").DebateEnd} DebateEnd */
/** @typedef {import("./items.js").Task} Task */
/** @typedef {import("./items.js").Verdict} Verdict */
/** @typedef {import("./items.js").Usage} Usage */
/** @typedef {import("./items.js").Call} Call */
/** @typedef {import("./items.js").Attempt} Attempt */
/** @typedef {import("./items.js").ErrorItem} ErrorItem */
/** @typedef {import("./items.js").Unread} Unread */
/** @typedef {import("./items.js").Critic} Critic */
/** @typedef {import("./api.js").Audit} Audit */
/** @typedef {import("./router.js").Visit} Visit */

/**
 * Shows the run at `path`, following its log until it finishes.
 * @param {string} path
 * @param {Visit} visit
 */
export function showRun(path, visit) {
  setCrumbs({ text: "runs", href: "#/" }, { text: path });
  let page = new RunPage(path);
  fill(main, page.root);
  let caughtUp = false;
  visit.follow(
    follow(path, {
      reset: () => {
        if (!visit.current) return;
        page = new RunPage(path); // the page starts over, empty
        fill(main, page.root);
        caughtUp = false;
      },
      items: (items) => {
        if (!visit.current) return;
        for (const item of items) page.place(item, caughtUp);
      },
      live: () => {
        caughtUp = true; // from here on, what arrives is new: it is highlighted as it comes
      },
      end: () => {
        live.hidden = true;
      },
      gone: () => page.notice("The run's log is gone."),
      lost: () => page.notice("Lost the connection to the viewer."),
    }),
  );
}

/** The page of one run: its sections, and the places items go. */
class RunPage {
  /** @param {string} path */
  constructor(path) {
    this.path = path;
    this.root = h("div", { class: "run" });
    /** @type {Map<string, HTMLElement>} where the items inside an item go, by its id */
    this.nodes = new Map();
    /** @type {Map<string, {fold: HTMLDetailsElement, count: HTMLElement, state: HTMLElement, lines: number}>} the debates, by id */
    this.debates = new Map();
    this.headBox = h("header", { class: "run-head" }, h("h1", { text: this.path }));
    this.statusBox = h("div", { class: "run-status" });
    this.turnBox = h("p", { class: "turn", "aria-live": "polite", hidden: true });
    this.verdicts = h("section", { class: "verdicts", hidden: true }, h("h2", { text: "Summary and scores" }));
    this.taskBox = h("section", { class: "task", hidden: true });
    this.population = new PopulationPanel();
    this.periods = h("div", { class: "periods" });
    this.periodNav = h("nav", { class: "period-nav", "aria-label": "Periods" });
    this.find = h("input", { type: "search", class: "find", placeholder: "Find in this run (speaker or words)", "aria-label": "Find in this run" });
    this.found = h("span", { class: "muted found", "aria-live": "polite" });
    /** @type {number | undefined} */
    let pending;
    this.find.addEventListener("input", () => {
      clearTimeout(pending);
      pending = setTimeout(() => this.applyFind(), 150);
    });
    this.auditBox = h(
      "section",
      { class: "audit" },
      h("h2", { text: "Fidelity audit" }),
      h("p", { class: "muted", text: "Checks every prompt: the period is stated, everything said since the agent's last turn is there, nothing leaks from another organisation's private debate, its own debate appears once, nothing is repeated, and each call fits the context window." }),
      h("button", { type: "button", class: "run-audit", text: "Audit every prompt", onclick: () => this.audit() }),
    );
    /** @param {boolean} open */
    const fold = (open) => () => this.root.querySelectorAll("details.debate").forEach((d) => (/** @type {HTMLDetailsElement} */ (d).open = open));
    this.conversation = h(
      "section",
      { class: "conversation" },
      h(
        "div",
        { class: "section-head" },
        h("h2", { text: "Conversation" }),
        h("button", { type: "button", class: "unfold-all", text: "Unfold all debates", onclick: fold(true), hidden: true }),
        h("button", { type: "button", class: "fold-all", text: "Fold all", onclick: fold(false), hidden: true }),
      ),
      this.periodNav,
      h("div", { class: "finder" }, this.find, this.found),
      this.periods,
    );
    this.usageBox = h("section", { class: "usage" }, h("h2", { text: "Tokens by agent" }));
    this.errors = h("section", { class: "errors", hidden: true }, h("h2", { text: "Errors" }));
    this.callRows = h("tbody");
    this.callCount = h("span", { class: "muted", text: "0" });
    this.calls = h(
      "section",
      { class: "calls" },
      h(
        "details",
        { class: "calls-fold" },
        h("summary", null, h("h2", { text: "Every model call " }), this.callCount),
        h("p", { class: "muted", text: "Select a call to read its whole prompt and answer, as sent and received." }),
        h(
          "table",
          { class: "grid calls-table" },
          h(
            "thead",
            null,
            h("tr", null, ["#", "seq", "t (s)", "agent", "purpose", "conversation", "prompt", "answer", "latency (s)", ""].map((t) =>
              h("th", { scope: "col", text: t }),
            )),
          ),
          this.callRows,
        ),
      ),
    );
    this.note = h("p", { class: "notice", role: "status", hidden: true });
    fill(this.root, this.headBox, this.note, this.statusBox, this.turnBox, this.taskBox, this.verdicts, this.population.root, this.conversation, this.usageBox, this.auditBox, this.calls, this.errors);
  }

  // Shows the statements and lines that mention the words (or are said by a matching
  // speaker), each with the statement it belongs to, and opens the debates that hold them.
  applyFind() {
    const q = this.find.value.trim().toLowerCase();
    const speeches = /** @type {NodeListOf<HTMLElement>} */ (this.root.querySelectorAll("article.statement, article.line"));
    speeches.forEach((a) => a.classList.remove("match"));
    this.root.querySelectorAll("article.statement, section.period").forEach((el) => (/** @type {HTMLElement} */ (el).hidden = false));
    if (!q) {
      this.found.textContent = "";
      return;
    }
    let count = 0;
    for (const a of speeches) {
      const said = (a.dataset.actor + "\n" + a.querySelector(":scope > .text")?.textContent).toLowerCase();
      if (!said.includes(q)) continue;
      a.classList.add("match");
      count += 1;
      for (let d = a.parentElement?.closest("details.debate"); d; d = d.parentElement?.closest("details.debate"))
        /** @type {HTMLDetailsElement} */ (d).open = true;
    }
    for (const st of /** @type {NodeListOf<HTMLElement>} */ (this.root.querySelectorAll("article.statement")))
      st.hidden = !st.classList.contains("match") && !st.querySelector("article.line.match");
    for (const sec of /** @type {NodeListOf<HTMLElement>} */ (this.root.querySelectorAll("section.period")))
      sec.hidden = !sec.querySelector("article.match") && !sec.querySelector("details.debate article.line.match");
    this.found.textContent = count === 1 ? "1 match" : count + " matches";
  }

  async audit() {
    const button = /** @type {HTMLButtonElement} */ (this.auditBox.querySelector("button.run-audit"));
    button.disabled = true;
    button.textContent = "Auditing…";
    this.auditBox.querySelector(".audit-result")?.remove();
    const result = h("div", { class: "audit-result", role: "status" });
    this.auditBox.append(result);
    try {
      /** @type {Audit} */
      const a = await getJSON(api("audit", { path: this.path }));
      const window = a.window.tokens ? `the ${num(a.window.tokens)}-token window (${a.window.source})` : "no known context window";
      const n = a.violations.length;
      result.append(
        h("p", { class: n ? "verdict-bad" : "verdict-ok", text: n ? `${n} violation${n > 1 ? "s" : ""} in ${num(a.calls)} calls.` : `No violations in ${num(a.calls)} calls.` }),
        h("p", { class: "muted", text: `Rules: ${a.rules.join(", ")}; held to ${window}.` }),
      );
      if (n) {
        result.append(
          sortableTable(
            [
              { key: "seq", label: "seq", num: true },
              { key: "actor", label: "Agent" },
              { key: "rule", label: "Rule" },
              { key: "detail", label: "What is wrong", cell: (v) => h("span", { class: "text", text: v.detail }) },
              { key: "call", label: "", cell: (v) => (v.call ? h("button", { type: "button", class: "prompt", text: "prompt", onclick: () => v.call && showCall(this.path, v.call) }) : "") },
            ],
            a.violations,
            { class: "violations" },
          ),
        );
        for (const v of a.violations) {
          const row = /** @type {HTMLElement | null} */ (this.callRows.querySelector(`tr[data-call="${v.call}"]`));
          if (row) {
            row.classList.add("violated");
            row.title = (row.title ? row.title + "\n" : "") + v.rule + ": " + v.detail;
          }
        }
      }
    } catch (err) {
      result.append(h("p", { class: "error", text: errorText(err) }));
    } finally {
      button.disabled = false;
      button.textContent = "Audit again";
    }
  }

  /** @param {string} text */
  notice(text) {
    this.note.textContent = text;
    this.note.hidden = false;
  }

  /**
   * Where the items inside `id` go (the periods, when it is not on the page).
   * @param {string} id
   */
  container(id) {
    return this.nodes.get(id) || this.periods;
  }

  /**
   * Puts an item on the page; new ones (`fresh`) are highlighted for a moment.
   * @param {PageItem} item
   * @param {boolean} fresh
   */
  place(item, fresh) {
    if (!KINDS.has(item.k)) return;
    const node = this.make(item);
    if (node && fresh) {
      node.classList.add("fresh");
      setTimeout(() => node.classList.remove("fresh"), 2500);
    }
  }

  /**
   * The item's node, when it is a new one on the page.
   * @param {PageItem} item
   * @returns {HTMLElement | null}
   */
  make(item) {
    switch (item.k) {
      case "head": return this.head(item);
      case "status": return this.status(item);
      case "turn": return this.turn(item);
      case "period": return this.period(item);
      case "statement": return this.speech(item, "statement");
      case "line": return this.line(item);
      case "debate": return this.debate(item);
      case "debate_end": return this.debateEnd(item);
      case "task": return this.task(item);
      case "verdict": return this.verdict(item);
      case "census": this.population.add(item); return null;
      case "usage": return this.usage(item);
      case "call": return this.call(item);
      case "attempt": return this.attempt(item);
      case "error": return this.error(item);
      case "unread": return this.unread(item);
    }
    return null;
  }

  /** @param {Head} item */
  head(item) {
    /** @type {[string, string | number][]} */
    const meta = [
      ["scenario", item.scenario],
      ["model", item.model],
      ["seed", item.seed],
      ["started", when(item.started_at)],
      ["overrides", item.overrides.join(", ")],
    ];
    const links = h(
      "p",
      { class: "downloads" },
      h("a", { href: api("file", { path: this.path, name: "transcript.md" }), text: "transcript.md" }),
      " · ",
      h("a", { href: api("file", { path: this.path, name: "events.jsonl" }), text: "events.jsonl" }),
    );
    fill(this.headBox,
      h("h1", { text: item.title }),
      item.description ? h("p", { class: "description", text: item.description }) : null,
      h("dl", { class: "meta" }, meta.filter(([, v]) => v !== "" && v !== null && v !== undefined).map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      links,
    );
    return null;
  }

  /** @param {Status} item */
  status(item) {
    const running = item.status === "running";
    live.hidden = !running;
    const facts = [
      ["periods", num(item.periods)],
      ["turns", num(item.turns)],
      ["model calls", num(item.llm_calls)],
      ["tokens", num(item.prompt_tokens + item.completion_tokens)],
      ["cost", usd(item.cost_usd)],
    ];
    fill(this.statusBox,
      statusBadge(item.status, item.reason),
      item.reason ? h("span", { class: "muted", text: " " + item.reason.replaceAll("_", " ") }) : null,
      h("ul", { class: "facts" }, facts.map(([k, v]) => h("li", null, h("b", { text: v }), " " + k))),
    );
    return null;
  }

  /** @param {Turn} item */
  turn(item) {
    this.turnBox.hidden = !item.actor;
    if (item.actor)
      fill(this.turnBox, "Turn: ", h("b", { text: item.actor }), ` (${item.conversation}, ${item.period})`);
    return null;
  }

  /** @param {Period} item */
  period(item) {
    const body = h("div", { class: "period-body" });
    const section = h("section", { class: "period", "data-period": item.label }, h("h3", { text: item.label }), body);
    this.nodes.set(item.id, body);
    this.periods.append(section);
    this.periodNav.append(
      h("button", { type: "button", class: "chip", text: item.label, onclick: () => section.scrollIntoView({ block: "start" }) }),
    );
    return section;
  }

  /**
   * A statement or a line, with the debates it claims folded under it.
   * @param {Statement | Line} item
   * @param {string} cls
   */
  speech(item, cls) {
    const folds = h("div", { class: "folds" });
    const call = item.call;
    const button = call
      ? h("button", { type: "button", class: "prompt", title: "Read the prompt of this line", text: "prompt", onclick: () => showCall(this.path, call) })
      : null;
    const node = h(
      "article",
      { class: cls, "data-seq": item.seq, "data-actor": item.actor },
      h("header", null, h("b", { class: "actor", text: item.name || item.actor }), button),
      h("div", { class: "text", text: item.text }),
      item.truncated ? h("p", { class: "muted truncated", text: "[cut off at max_tokens]" }) : null,
      item.k === "statement" && item.critic ? criticNote(item.critic) : null,
      folds,
    );
    this.nodes.set(item.id, folds);
    for (const id of item.claims) {
      const debate = this.debates.get(id);
      if (debate) {
        debate.fold.open = false;
        folds.append(debate.fold);
      }
    }
    this.container(item.in).append(node);
    return node;
  }

  /** @param {Line} item */
  line(item) {
    const debate = this.debates.get(item.in);
    if (debate) {
      debate.lines += 1;
      debate.count.textContent = debate.lines + " lines";
    }
    return this.speech(item, "line");
  }

  /** @param {Debate} item */
  debate(item) {
    this.conversation.querySelectorAll(".unfold-all, .fold-all").forEach((b) => (/** @type {HTMLElement} */ (b).hidden = false));
    const lines = h("div", { class: "lines" });
    const count = h("span", { class: "count", text: "0 lines" });
    const state = h("span", { class: "state running", text: "debating…" });
    const node = h(
      "details",
      { class: "debate", open: true, "data-owner": item.owner, "data-depth": item.depth },
      h("summary", null, h("span", { class: "label", text: item.label }), count, state),
      item.members.length ? h("p", { class: "members muted", text: item.members.join(", ") }) : null,
      lines,
    );
    this.nodes.set(item.id, lines);
    this.debates.set(item.id, { fold: node, count, state, lines: 0 });
    this.container(item.in).append(node);
    return node;
  }

  /** @param {DebateEnd} item */
  debateEnd(item) {
    const debate = this.debates.get(item.id);
    if (debate) {
      debate.state.className = "state";
      debate.state.textContent = "ended: " + item.reason.replaceAll("_", " ");
    }
    return null;
  }

  /** @param {Task} item */
  task(item) {
    this.taskBox.hidden = false;
    fill(this.taskBox,
      h("h2", { text: "Task" }),
      h("p", null, h("b", { text: item.assistant_role }), " helps ", h("b", { text: item.user_role })),
      h("p", { class: "text", text: item.specified }),
      item.original !== item.specified ? h("p", { class: "muted text", text: "Given as: " + item.original }) : null,
      item.planned ? h("details", null, h("summary", { text: "Plan" }), h("p", { class: "text", text: item.planned })) : null,
    );
    return null;
  }

  /** @param {Verdict} item */
  verdict(item) {
    this.verdicts.hidden = false;
    const whole = item.scores.filter((x) => x.subject === null);
    const apiece = item.scores.filter((x) => x.subject !== null);
    const box = h("div", { class: "verdict" }, h("p", { class: "text summary", text: item.summary || "(no summary)" }));
    if (whole.length)
      box.append(h("ul", { class: "score-list" }, whole.map((x) => h("li", null, h("span", { text: x.name }), h("b", { text: x.text })))));
    if (apiece.length) {
      const subjects = [...new Set(apiece.map((x) => x.subject))];
      const names = [...new Set(apiece.map((x) => x.name))];
      /** @type {(name: string, subject: string | null) => string} */
      const cell = (name, subject) => apiece.find((x) => x.name === name && x.subject === subject)?.text ?? "—";
      box.append(
        h(
          "table",
          { class: "grid scores-table" },
          h("thead", null, h("tr", null, h("th", { text: "score" }), subjects.map((t) => h("th", { scope: "col", text: t })))),
          h("tbody", null, names.map((n) => h("tr", null, h("th", { scope: "row", text: n }), subjects.map((t) => h("td", { class: "num", text: cell(n, t) }))))),
        ),
      );
    }
    box.append(h("p", { class: "muted", text: "Judged by " + item.judge + "." }));
    this.verdicts.append(box);
    return box;
  }

  /** @param {Usage} item */
  usage(item) {
    const total = item.rows.reduce((a, r) => a + r.prompt_tokens + r.completion_tokens, 0) || 1;
    const most = Math.max(1e-9, ...item.rows.map((r) => (100 * (r.prompt_tokens + r.completion_tokens)) / total));
    fill(this.usageBox,
      h("h2", { text: "Tokens by agent" }),
      sortableTable(
        [
          { key: "agent", label: "Agent" },
          ...(new Set(item.rows.map((r) => r.model)).size > 1 ? [{ key: "model", label: "Model" }] : []),
          { key: "calls", label: "Calls", num: true },
          { key: "prompt_tokens", label: "Prompt", num: true },
          { key: "completion_tokens", label: "Answer", num: true },
          { key: "cost_usd", label: "Cost", num: true, cell: (r) => (item.priced ? usd(r.cost_usd) : "—") },
          ...(item.rows.some((r) => r.estimated_tokens) ? [{ key: "estimated_tokens", label: "Estimated", num: true }] : []),
          {
            key: "share",
            label: "Share",
            num: true,
            value: (r) => r.prompt_tokens + r.completion_tokens,
            cell: (r) => {
              const pct = (100 * (r.prompt_tokens + r.completion_tokens)) / total;
              return h("span", { class: "share" }, h("meter", { min: 0, max: most.toFixed(1), value: pct.toFixed(1) }), " " + pct.toFixed(1) + "%");
            },
          },
        ],
        item.rows,
        { sortKey: "share", sortDir: -1 },
      ),
    );
    return null;
  }

  /** @param {Call} item */
  call(item) {
    const row = h(
      "tr",
      { "data-call": item.call },
      [item.call, item.seq, item.t.toFixed(2), item.actor, item.purpose, item.conversation, num(item.prompt_tokens), num(item.completion_tokens), item.latency.toFixed(3)].map((v) =>
        h("td", { text: v }),
      ),
      h("td", null, h("button", { type: "button", class: "prompt", text: "prompt", onclick: () => showCall(this.path, item.call) })),
    );
    this.callRows.append(row);
    this.callCount.textContent = num(this.callRows.childElementCount);
    return null;
  }

  /** @param {Attempt} item */
  attempt(item) {
    const text = `attempt ${item.attempt} failed: ${item.error_type}${item.status ? " " + item.status : ""}: ${item.error}`;
    const row = h("tr", { class: "failed" }, h("td", { text: "—" }), h("td", { text: item.seq }), h("td", { text: item.t.toFixed(2) }), h("td", { text: item.actor }), h("td", { colspan: 6, text }));
    this.callRows.append(row);
    return null;
  }

  /** @param {ErrorItem} item */
  error(item) {
    if (item.judge) {
      // Where the verdict would be: the judge gave none, and the run has no scores.
      this.verdicts.hidden = false;
      this.verdicts.append(
        h(
          "div",
          { class: "verdict judge-failed" },
          h("p", { class: "error" }, h("b", { text: "The judge failed" }), `: ${item.error_type}: ${item.message}`),
          h("p", { class: "muted", text: "The run has no scores." }),
        ),
      );
    }
    this.errors.hidden = false;
    const node = h(
      "p",
      { class: item.fatal ? "error fatal" : "error" },
      h("b", { text: item.error_type }),
      ": " + item.message + (item.where ? ` (${item.where}, seq ${item.seq})` : ` (seq ${item.seq})`),
    );
    this.errors.append(node);
    return node;
  }

  /** @param {Unread} item */
  unread(item) {
    this.errors.hidden = false;
    const why = item.too_long
      ? `${num(item.length)} bytes or more, longer than the viewer reads`
      : `${num(item.length)} bytes that are not an event this viewer knows (damaged, or from a newer version)`;
    const node = h("p", { class: "error unread" }, h("b", { text: "Line not read" }), `: the line at byte ${num(item.at)} of events.jsonl: ${why}.`);
    this.errors.append(node);
    return node;
  }
}

/**
 * A statement's note of the critic's choice: every candidate, the chosen one marked.
 * @param {Critic} c
 */
function criticNote(c) {
  return h(
    "details",
    { class: "critic" },
    h("summary", { text: `chosen by the ${c.by} (option ${c.choice} of ${c.options.length})` }),
    h("ol", null, c.options.map((o, i) => h("li", { class: i + 1 === c.choice ? "chosen text" : "text", text: o }))),
    c.explanation ? h("p", { class: "muted text", text: c.explanation }) : null,
  );
}
