// converse view: the page. It only places what the server sends; every piece of text from a
// run (model output included) goes into the page as text (textContent), never as markup.
"use strict";

const main = document.getElementById("main");
const crumbs = document.getElementById("crumbs");
const liveBadge = document.getElementById("live");
const SVGNS = "http://www.w3.org/2000/svg";
let stream = null; // the open EventSource of a run page
let timer = null; // the refresh timer of the list or a sweep page
let generation = 0; // bumped on every navigation; late answers of an older page are dropped

// --- building elements -------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

const nf = new Intl.NumberFormat("en");
const num = (n) => (n === null || n === undefined ? "" : nf.format(n));
const usd = (n) => (n ? "$" + (n < 0.01 ? n.toFixed(4) : n.toFixed(2)) : "—");
const compact = (n) =>
  n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e4 ? Math.round(n / 1e3) + "k" : num(n);
const runHref = (path) => "#/run/" + encodeURIComponent(path);
const groupHref = (path) => "#/sweep/" + encodeURIComponent(path);
const api = (route, params) => "/api/" + route + "?" + new URLSearchParams(params).toString();

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function statusBadge(status, reason) {
  return h("span", { class: "status status-" + status, title: reason || null, text: status });
}

// Replaces an element's children; null, undefined and false children are left out, arrays flattened.
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function setCrumbs(...parts) {
  fill(crumbs,
    ...parts.flatMap((part, i) => [
      i ? h("span", { class: "sep", text: "/" }) : null,
      part.href ? h("a", { href: part.href, text: part.text }) : h("span", { text: part.text }),
    ]).filter(Boolean),
  );
}

function fail(message) {
  fill(main, h("p", { class: "error", role: "alert", text: message }));
}

// --- sortable tables ----------------------------------------------------------------------

// columns: [{key, label, value(row) -> sortable, cell(row) -> node|string, num}]
// opts.state ({sortKey, sortDir}) keeps the sort across a refresh of the page.
function sortableTable(columns, rows, opts = {}) {
  const state = opts.state || { sortKey: opts.sortKey || null, sortDir: opts.sortDir || 1 };
  let sortKey = state.sortKey;
  let sortDir = state.sortDir;
  const thead = h("thead");
  const tbody = h("tbody");
  const table = h("table", { class: "grid" + (opts.class ? " " + opts.class : "") }, thead, tbody);
  function draw() {
    const col = columns.find((c) => c.key === sortKey);
    const sorted = rows.slice();
    if (col) {
      const value = col.value || ((r) => r[col.key]);
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
          columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell ? c.cell(row) : fmtCell(row[c.key]))),
        ),
      ),
    );
  }
  draw();
  return table;
}

function fmtCell(v) {
  if (v === null || v === undefined || v === "") return "—";
  return typeof v === "number" ? num(v) : String(v);
}

function compare(a, b) {
  const emptyA = a === null || a === undefined || a === "";
  const emptyB = b === null || b === undefined || b === "";
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1; // empties last
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

// --- the list of runs -----------------------------------------------------------------------

async function showIndex(gen, keep) {
  setCrumbs({ text: "runs" });
  const data = await getJSON("/api/index");
  if (gen !== generation) return;
  const state = keep || { q: "", groups: {}, runs: {}, seen: "" };
  const again = () => {
    timer = setTimeout(() => gen === generation && showIndex(gen, state).catch(() => again()), 5000);
  };
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

function scoreText(scores) {
  return Object.entries(scores || {})
    .map(([k, v]) => k + " " + (v === null ? "—" : v))
    .join(" · ");
}

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
        value: (r) => scoreText(r.scores),
        cell: (r) => {
          const text = scoreText(r.scores);
          return h("span", { class: "scores", title: text || null, text: text || "—" });
        },
      },
      { key: "started_at", label: "Started", cell: (r) => (r.started_at || "").replace("T", " ").slice(0, 19) },
    ],
    rows,
    { state },
  );
}

// --- one run --------------------------------------------------------------------------------

function showRun(path, gen) {
  setCrumbs({ text: "runs", href: "#/" }, { text: path });
  const page = new RunPage(path);
  fill(main, page.root);
  const es = new EventSource(api("stream", { path }));
  stream = es;
  let caughtUp = false;
  es.addEventListener("reset", () => {
    page.reset();
    caughtUp = false;
  });
  es.addEventListener("items", (e) => {
    if (gen !== generation) return;
    for (const item of JSON.parse(e.data)) page.place(item, caughtUp);
  });
  es.addEventListener("live", () => {
    caughtUp = true; // from here on, what arrives is new: it is highlighted as it comes
  });
  es.addEventListener("end", () => {
    es.close();
    liveBadge.hidden = true;
  });
  es.addEventListener("gone", () => {
    es.close();
    page.notice("The run's log is gone.");
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) page.notice("Lost the connection to the viewer.");
  };
}

class RunPage {
  constructor(path) {
    this.path = path;
    this.root = h("div", { class: "run" });
    this.reset();
  }

  reset() {
    this.nodes = new Map();
    this.counts = new Map(); // lines per debate
    this.headBox = h("header", { class: "run-head" }, h("h1", { text: this.path }));
    this.statusBox = h("div", { class: "run-status" });
    this.turnBox = h("p", { class: "turn", "aria-live": "polite", hidden: true });
    this.verdicts = h("section", { class: "verdicts", hidden: true }, h("h2", { text: "Summary and scores" }));
    this.taskBox = h("section", { class: "task", hidden: true });
    this.periods = h("div", { class: "periods" });
    this.periodNav = h("nav", { class: "period-nav", "aria-label": "Periods" });
    this.find = h("input", { type: "search", class: "find", placeholder: "Find in this run (speaker or words)", "aria-label": "Find in this run" });
    this.found = h("span", { class: "muted found", "aria-live": "polite" });
    let pending = null;
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
    const fold = (open) => () => this.root.querySelectorAll("details.debate").forEach((d) => (d.open = open));
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
    fill(this.root, this.headBox, this.note, this.statusBox, this.turnBox, this.taskBox, this.verdicts, this.conversation, this.usageBox, this.auditBox, this.calls, this.errors);
  }

  // Shows the statements and lines that mention the words (or are said by a matching
  // speaker), each with the statement it belongs to, and opens the debates that hold them.
  applyFind() {
    const q = this.find.value.trim().toLowerCase();
    const speeches = this.root.querySelectorAll("article.statement, article.line");
    speeches.forEach((a) => a.classList.remove("match"));
    this.root.querySelectorAll("article.statement, section.period").forEach((el) => (el.hidden = false));
    if (!q) {
      this.found.textContent = "";
      return;
    }
    let count = 0;
    for (const a of speeches) {
      const said = (a.dataset.actor + "\n" + a.querySelector(":scope > .text").textContent).toLowerCase();
      if (!said.includes(q)) continue;
      a.classList.add("match");
      count += 1;
      for (let d = a.parentElement.closest("details.debate"); d; d = d.parentElement.closest("details.debate")) d.open = true;
    }
    for (const st of this.root.querySelectorAll("article.statement"))
      st.hidden = !st.classList.contains("match") && !st.querySelector("article.line.match");
    for (const sec of this.root.querySelectorAll("section.period"))
      sec.hidden = !sec.querySelector("article.match") && !sec.querySelector("details.debate article.line.match");
    this.found.textContent = count === 1 ? "1 match" : count + " matches";
  }

  async audit() {
    const button = this.auditBox.querySelector("button.run-audit");
    button.disabled = true;
    button.textContent = "Auditing…";
    this.auditBox.querySelector(".audit-result")?.remove();
    const result = h("div", { class: "audit-result", role: "status" });
    this.auditBox.append(result);
    try {
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
              { key: "call", label: "", cell: (v) => (v.call ? h("button", { type: "button", class: "prompt", text: "prompt", onclick: () => showCall(this.path, v.call) }) : "") },
            ],
            a.violations,
            { class: "violations" },
          ),
        );
        for (const v of a.violations) {
          const row = this.callRows.querySelector(`tr[data-call="${v.call}"]`);
          if (row) {
            row.classList.add("violated");
            row.title = (row.title ? row.title + "\n" : "") + v.rule + ": " + v.detail;
          }
        }
      }
    } catch (err) {
      result.append(h("p", { class: "error", text: String(err.message || err) }));
    } finally {
      button.disabled = false;
      button.textContent = "Audit again";
    }
  }

  notice(text) {
    this.note.textContent = text;
    this.note.hidden = false;
  }

  container(id) {
    return this.nodes.get(id) || this.periods;
  }

  place(item, fresh) {
    if (!PLACERS.has(item.k)) return;
    const make = this[item.k];
    const node = make.call(this, item);
    if (node && fresh) {
      node.classList.add("fresh");
      setTimeout(() => node.classList.remove("fresh"), 2500);
    }
  }

  head(item) {
    const meta = [
      ["scenario", item.scenario],
      ["model", item.model],
      ["seed", item.seed],
      ["started", (item.started_at || "").replace("T", " ").slice(0, 19)],
      ["overrides", item.overrides.join(", ")],
    ].filter(([, v]) => v !== "" && v !== null && v !== undefined);
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
      h("dl", { class: "meta" }, meta.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      links,
    );
    return null;
  }

  status(item) {
    const running = item.status === "running";
    liveBadge.hidden = !running;
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

  turn(item) {
    this.turnBox.hidden = !item.actor;
    if (item.actor)
      fill(this.turnBox, "Turn: ", h("b", { text: item.actor }), ` (${item.conversation}, ${item.period})`);
    return null;
  }

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

  speech(item, cls) {
    const folds = h("div", { class: "folds" });
    const button = item.call
      ? h("button", { type: "button", class: "prompt", title: "Read the prompt of this line", text: "prompt", onclick: () => showCall(this.path, item.call) })
      : null;
    const node = h(
      "article",
      { class: cls, "data-seq": item.seq, "data-actor": item.actor },
      h("header", null, h("b", { class: "actor", text: item.name || item.actor }), button),
      h("div", { class: "text", text: item.text }),
      item.critic ? criticNote(item.critic) : null,
      folds,
    );
    this.nodes.set(item.id, folds);
    for (const id of item.claims) {
      const debate = this.nodes.get("fold:" + id);
      if (debate) {
        debate.open = false;
        folds.append(debate);
      }
    }
    this.container(item.in).append(node);
    return node;
  }

  statement(item) {
    return this.speech(item, "statement");
  }

  line(item) {
    this.counts.set(item.in, (this.counts.get(item.in) || 0) + 1);
    const label = this.nodes.get("count:" + item.in);
    if (label) label.textContent = this.counts.get(item.in) + " lines";
    return this.speech(item, "line");
  }

  debate(item) {
    this.conversation.querySelectorAll(".unfold-all, .fold-all").forEach((b) => (b.hidden = false));
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
    this.nodes.set("fold:" + item.id, node);
    this.nodes.set("count:" + item.id, count);
    this.nodes.set("state:" + item.id, state);
    this.container(item.in).append(node);
    return node;
  }

  debate_end(item) {
    const state = this.nodes.get("state:" + item.id);
    if (state) {
      state.className = "state";
      state.textContent = "ended: " + item.reason.replaceAll("_", " ");
    }
    return null;
  }

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

  verdict(item) {
    this.verdicts.hidden = false;
    const whole = item.scores.filter((x) => x.subject === null);
    const apiece = item.scores.filter((x) => x.subject !== null);
    const box = h("div", { class: "verdict" }, h("p", { class: "text summary", text: item.summary || "(no summary)" }));
    if (whole.length)
      box.append(h("ul", { class: "score-list" }, whole.map((x) => h("li", null, h("span", { text: x.name }), h("b", { text: scoreValue(x) })))));
    if (apiece.length) {
      const subjects = [...new Set(apiece.map((x) => x.subject))];
      const names = [...new Set(apiece.map((x) => x.name))];
      const cell = (name, subject) => apiece.find((x) => x.name === name && x.subject === subject);
      box.append(
        h(
          "table",
          { class: "grid scores-table" },
          h("thead", null, h("tr", null, h("th", { text: "score" }), subjects.map((t) => h("th", { scope: "col", text: t })))),
          h("tbody", null, names.map((n) => h("tr", null, h("th", { scope: "row", text: n }), subjects.map((t) => h("td", { class: "num", text: cell(n, t) ? scoreValue(cell(n, t)) : "—" }))))),
        ),
      );
    }
    box.append(h("p", { class: "muted", text: "Judged by " + item.judge + "." }));
    this.verdicts.append(box);
    return box;
  }

  usage(item) {
    const total = item.rows.reduce((a, r) => a + r.prompt_tokens + r.completion_tokens, 0) || 1;
    const most = Math.max(1e-9, ...item.rows.map((r) => (100 * (r.prompt_tokens + r.completion_tokens)) / total));
    fill(this.usageBox,
      h("h2", { text: "Tokens by agent" }),
      sortableTable(
        [
          { key: "agent", label: "Agent" },
          { key: "calls", label: "Calls", num: true },
          { key: "prompt_tokens", label: "Prompt", num: true },
          { key: "completion_tokens", label: "Answer", num: true },
          { key: "cost_usd", label: "Cost", num: true, cell: (r) => (item.priced ? usd(r.cost_usd) : "—") },
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

  attempt(item) {
    const text = `attempt ${item.attempt} failed: ${item.error_type}${item.status ? " " + item.status : ""}: ${item.error}`;
    const row = h("tr", { class: "failed" }, h("td", { text: "—" }), h("td", { text: item.seq }), h("td", { text: item.t.toFixed(2) }), h("td", { text: item.actor }), h("td", { colspan: 6, text }));
    this.callRows.append(row);
    return null;
  }

  error(item) {
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
}

const PLACERS = new Set(["head", "status", "turn", "period", "statement", "line", "debate", "debate_end", "task", "verdict", "usage", "call", "attempt", "error"]);

function scoreValue(score) {
  if (score.value === null) return score.scale === "year" ? "no announcement" : "n/a";
  return score.scale === "1-10" ? score.value + "/10" : String(score.value);
}

function criticNote(c) {
  return h(
    "details",
    { class: "critic" },
    h("summary", { text: `chosen by the ${c.by} (option ${c.choice} of ${c.options.length})` }),
    h("ol", null, c.options.map((o, i) => h("li", { class: i + 1 === c.choice ? "chosen text" : "text", text: o }))),
    c.explanation ? h("p", { class: "muted text", text: c.explanation }) : null,
  );
}

async function showCall(path, number) {
  const dialog = document.getElementById("call");
  const body = document.getElementById("call-body");
  document.getElementById("call-title").textContent = "Model call " + number;
  fill(body, h("p", { class: "muted", text: "Loading…" }));
  if (!dialog.open) dialog.showModal();
  try {
    const c = await getJSON(api("call", { path, call: number }));
    fill(body,
      h("dl", { class: "meta" }, [
        ["agent", c.actor],
        ["purpose", c.purpose],
        ["conversation", c.conversation.join(" / ")],
        ["model", c.model],
        ["tokens", `${num(c.usage.prompt_tokens)} in, ${num(c.usage.completion_tokens)} out`],
        ["latency", c.latency.toFixed(3) + " s"],
        ["seq", c.seq],
      ].map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
      h("details", null, h("summary", { text: "parameters" }), h("pre", { text: JSON.stringify(c.params, null, 2) })),
      h("h3", { text: `Prompt (${c.messages.length} messages)` }),
      h("div", { class: "messages" }, c.messages.map((m) => h("div", { class: "message role-" + m.role }, h("div", { class: "role", text: m.role }), h("pre", { text: m.content })))),
      h("h3", { text: "Answer" }),
      h("div", { class: "message role-answer" }, h("pre", { text: c.response })),
    );
  } catch (err) {
    fill(body, h("p", { class: "error", text: String(err.message || err) }));
  }
}

// --- a sweep or dataset ---------------------------------------------------------------------

async function showGroup(path, gen, keep) {
  setCrumbs({ text: "runs", href: "#/" }, { text: path });
  const data = await getJSON(api("group", { path }));
  if (gen !== generation) return;
  const state = keep || { score: null, table: {} };
  const scored = data.columns.filter((c) => data.rows.some((r) => typeof r.scores[c] === "number"));
  if (!scored.includes(state.score)) state.score = scored.find((c) => !c.includes("[")) || scored[0] || null;
  const statuses = {};
  for (const r of data.rows) statuses[r.status] = (statuses[r.status] || 0) + 1;
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
    const drawCharts = () => fill(charts, ...data.dials.map((d) => distributionChart(data.rows, d, state.score)));
    parts.push(h("h2", { text: "Scores by dial" }), h("label", { class: "picker" }, "Score ", select), charts);
    drawCharts();
  } else if (data.rows.length) {
    parts.push(h("h2", { text: "How the runs ended" }), charts);
    charts.append(countChart(data.rows.map((r) => r.reason || r.status), "runs by reason"));
  }
  const dialCols = data.dials.map((d) => ({ key: "dial:" + d, label: d, value: (r) => r.dials[d], cell: (r) => (r.dials[d] === undefined ? "—" : String(r.dials[d])) }));
  const scoreCols = data.columns.map((c) => ({ key: "score:" + c, label: c, num: true, value: (r) => r.scores[c], cell: (r) => fmtCell(r.scores[c]) }));
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
      ...scoreCols,
    ],
    data.rows,
    { class: "summary-table", state: state.table },
  );
  parts.push(h("h2", { text: "Summary" }), h("div", { class: "scroll" }, table));
  fill(main, ...parts);
  if (data.rows.some((r) => r.status === "running"))
    timer = setTimeout(() => gen === generation && showGroup(path, gen, state).catch(() => {}), 3000);
}

function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((m) => m >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(+v.toFixed(6));
  return ticks;
}

function quantile(sorted, q) {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

// A strip plot with a box per setting of one dial: every run a dot, the box its quartiles,
// the line its median.
function distributionChart(rows, dial, score) {
  const groups = new Map();
  for (const r of rows) {
    const v = r.scores[score];
    if (typeof v !== "number") continue;
    const key = r.dials[dial] === undefined ? "—" : String(r.dials[dial]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push({ v, run: r });
  }
  const keys = [...groups.keys()].sort((a, b) => compare(isNaN(a) ? a : +a, isNaN(b) ? b : +b));
  const values = [...groups.values()].flat().map((p) => p.v);
  const W = 520, H = 280, L = 48, R = 12, T = 16, B = 44;
  let lo = Math.min(...values), hi = Math.max(...values);
  if (lo >= 0 && hi <= 10 && !/year/i.test(score)) { lo = 0; hi = 10; }
  else { const pad = (hi - lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const band = (W - L - R) / Math.max(keys.length, 1);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${score} by ${dial}`, class: "chart-svg" });
  for (const t of niceTicks(lo, hi, 5)) {
    svg.append(s("line", { x1: L, x2: W - R, y1: y(t), y2: y(t), class: "gridline" }));
    svg.append(s("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, String(t)));
  }
  keys.forEach((key, i) => {
    const pts = groups.get(key);
    const cx = L + band * (i + 0.5);
    const sorted = pts.map((p) => p.v).sort((a, b) => a - b);
    const q1 = quantile(sorted, 0.25), q2 = quantile(sorted, 0.5), q3 = quantile(sorted, 0.75);
    const bw = Math.min(band * 0.5, 60);
    svg.append(s("line", { x1: cx, x2: cx, y1: y(sorted[0]), y2: y(sorted[sorted.length - 1]), class: "whisker" }));
    svg.append(s("rect", { x: cx - bw / 2, y: y(q3), width: bw, height: Math.max(1, y(q1) - y(q3)), class: "box" }));
    svg.append(s("line", { x1: cx - bw / 2, x2: cx + bw / 2, y1: y(q2), y2: y(q2), class: "median" }));
    pts.forEach((p, j) => {
      const jitter = ((j * 0.618034) % 1 - 0.5) * bw * 0.8;
      svg.append(s("circle", { cx: cx + jitter, cy: y(p.v), r: 3.5, class: "dot" }, s("title", null, `${p.run.run}: ${p.v}`)));
    });
    svg.append(s("text", { x: cx, y: H - B + 18, "text-anchor": "middle", class: "tick" }, key));
    svg.append(s("text", { x: cx, y: H - B + 32, "text-anchor": "middle", class: "tick muted" }, "n=" + pts.length));
  });
  svg.append(s("text", { x: L + (W - L - R) / 2, y: H - 4, "text-anchor": "middle", class: "axis" }, dial));
  return h("figure", { class: "chart", "data-dial": dial, "data-score": score }, svg, h("figcaption", { text: `${score} by ${dial}` }));
}

function countChart(labels, caption) {
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

// --- routing --------------------------------------------------------------------------------

function route() {
  generation += 1;
  const gen = generation;
  if (stream) stream.close();
  stream = null;
  clearTimeout(timer);
  liveBadge.hidden = true;
  const hash = location.hash.replace(/^#\/?/, "");
  const [kind, ...rest] = hash.split("/");
  const path = decodeURIComponent(rest.join("/"));
  let done;
  if (kind === "run" && path) done = Promise.resolve(showRun(path, gen));
  else if (kind === "sweep" && path) done = showGroup(path, gen);
  else done = showIndex(gen);
  done.catch((err) => gen === generation && fail(String(err.message || err)));
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
route();
