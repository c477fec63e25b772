// @ts-check
// The items of a run's page, as the server sends them (`/api/stream`, `/api/run`).
//
// The definition is the Python union in converse/web/_items.py (msgspec Structs tagged by
// `k`, encoded by its one encoder); these typedefs restate it for the type check, and
// tests/converse/test_view.py checks that they say the same. Every item has its kind `k`
// and an `id`; what goes inside something else names its container's id in `in`.

/**
 * The run's title and what it ran.
 * @typedef {object} Head
 * @property {"head"} k
 * @property {string} id
 * @property {string} run
 * @property {string} title
 * @property {string} description
 * @property {string} scenario
 * @property {string} model
 * @property {number} seed
 * @property {string} started_at
 * @property {string[]} overrides
 * @property {string} engine_version
 * @property {string[]} organisations
 * @property {string[]} councils
 * @property {boolean} roleplay
 */

/**
 * How the run stands: "running" with its counts so far, or how it finished.
 * @typedef {object} Status
 * @property {"status"} k
 * @property {string} id
 * @property {string} status
 * @property {string} reason
 * @property {number} periods
 * @property {number} turns
 * @property {number} llm_calls
 * @property {number} prompt_tokens
 * @property {number} completion_tokens
 * @property {number} cost_usd
 */

/**
 * Whose turn it is (nobody's: `actor` null).
 * @typedef {object} Turn
 * @property {"turn"} k
 * @property {string} id
 * @property {string | null} actor
 * @property {string} period
 * @property {string} conversation
 */

/**
 * A period of the public conversation: a section of the page.
 * @typedef {object} Period
 * @property {"period"} k
 * @property {string} id
 * @property {string} label
 * @property {number} index
 */

/**
 * A critic's choice among a proposer's candidate messages (1-based `choice`).
 * @typedef {object} Critic
 * @property {string} critic
 * @property {string[]} options
 * @property {number} choice
 * @property {string} by
 * @property {string} explanation
 */

/**
 * A line of the public conversation; `claims` are the debates that fold under it.
 * @typedef {object} Statement
 * @property {"statement"} k
 * @property {string} id
 * @property {string} in
 * @property {string} actor
 * @property {string} name
 * @property {string} text
 * @property {number} seq
 * @property {string} period
 * @property {number | null} call
 * @property {string[]} claims
 * @property {Critic | null} critic
 * @property {boolean} truncated the server cut the answer off at max_tokens
 */

/**
 * A line of a debate.
 * @typedef {object} Line
 * @property {"line"} k
 * @property {string} id
 * @property {string} in
 * @property {string} actor
 * @property {string} name
 * @property {string} text
 * @property {number} seq
 * @property {string} period
 * @property {number | null} call
 * @property {string[]} claims
 * @property {boolean} truncated the server cut the answer off at max_tokens
 */

/**
 * A council's debate (depth 1) or a member's advisers (deeper), open while it runs.
 * @typedef {object} Debate
 * @property {"debate"} k
 * @property {string} id
 * @property {string} in
 * @property {string} owner
 * @property {string} label
 * @property {string[]} members
 * @property {string | null} period
 * @property {number} depth
 */

/**
 * The debate `id` ended.
 * @typedef {object} DebateEnd
 * @property {"debate_end"} k
 * @property {string} id
 * @property {string} reason
 * @property {number} turns
 */

/**
 * A role-play's task.
 * @typedef {object} Task
 * @property {"task"} k
 * @property {string} id
 * @property {string} assistant_role
 * @property {string} user_role
 * @property {string} original
 * @property {string} specified
 * @property {string | null} planned
 */

/**
 * One of a verdict's scores; `text` is how it reads.
 * @typedef {object} ScoreShown
 * @property {string} name
 * @property {string | null} subject
 * @property {number | null} value
 * @property {string} scale
 * @property {string} text
 */

/**
 * A judge's summary and scores.
 * @typedef {object} Verdict
 * @property {"verdict"} k
 * @property {string} id
 * @property {string} judge
 * @property {string} summary
 * @property {ScoreShown[]} scores
 */

/**
 * One lab in a period of a population run: `working` and `papers` by area, in the order of
 * its census's `areas`; `safety` the share of those who worked who worked on safety.
 * @typedef {object} LabShown
 * @property {string} lab
 * @property {number} researchers on staff at the period's end
 * @property {number[]} working
 * @property {number[]} papers
 * @property {number} joined
 * @property {number} left
 * @property {number | null} safety null: nobody worked this period
 */

/**
 * A population run's researchers after one period: each lab, all the labs' papers by area,
 * the moves and the meetings.
 * @typedef {object} Census
 * @property {"census"} k
 * @property {string} id
 * @property {string} period
 * @property {number} index
 * @property {string[]} areas
 * @property {LabShown[]} labs
 * @property {number[]} papers
 * @property {number} moves
 * @property {number} meetings
 * @property {number} conference
 */

/**
 * What one agent spent.
 * @typedef {object} UsageRow
 * @property {string} agent
 * @property {number} calls
 * @property {number} prompt_tokens
 * @property {number} completion_tokens
 * @property {number} cost_usd
 * @property {number} estimated_tokens of its tokens, those the server did not report (our estimate)
 * @property {string} model the model(s) it spoke with ("a, b" for several; "human": a person)
 */

/**
 * Tokens (and, once `priced`, cost) by agent.
 * @typedef {object} Usage
 * @property {"usage"} k
 * @property {string} id
 * @property {UsageRow[]} rows
 * @property {boolean} priced
 */

/**
 * A model call, without its prompt and answer.
 * @typedef {object} Call
 * @property {"call"} k
 * @property {string} id
 * @property {number} call
 * @property {number} seq
 * @property {number} t
 * @property {string} actor
 * @property {string} purpose
 * @property {string} conversation
 * @property {string} model
 * @property {number} prompt_tokens
 * @property {number} completion_tokens
 * @property {number} latency
 * @property {number} attempt
 */

/**
 * A model call's attempt that failed.
 * @typedef {object} Attempt
 * @property {"attempt"} k
 * @property {string} id
 * @property {number} seq
 * @property {number} t
 * @property {string} actor
 * @property {string} conversation
 * @property {number} attempt
 * @property {string} error_type
 * @property {string} error
 * @property {number | null} status
 * @property {number | null} next_delay
 */

/**
 * A run's error, and where it happened.
 * @typedef {object} ErrorItem
 * @property {"error"} k
 * @property {string} id
 * @property {number} seq
 * @property {string} error_type
 * @property {string} message
 * @property {string} where
 * @property {boolean} fatal
 * @property {boolean} judge
 */

/**
 * A line of the log that was not read: too long, or not an event the viewer knows.
 * @typedef {object} Unread
 * @property {"unread"} k
 * @property {string} id
 * @property {number} at
 * @property {number} length
 * @property {boolean} too_long
 */

/**
 * Every kind of item.
 * @typedef {Head | Status | Turn | Period | Statement | Line | Debate | DebateEnd | Task | Verdict | Census | Usage | Call | Attempt | ErrorItem | Unread} PageItem
 */

/**
 * The kinds the page places; an item of another kind (from a newer server) is left out.
 * @type {ReadonlySet<string>}
 */
export const KINDS = new Set([
  "head", "status", "turn", "period", "statement", "line", "debate", "debate_end", "task", "verdict", "census", "usage", "call", "attempt", "error", "unread",
]);
