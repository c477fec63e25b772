"""The built-in offline model: every deterministic answerer (statements, summaries, the judge's
verdicts, CAMEL's role-play and dataset lists) and a real OpenAI-compatible test server on it."""
