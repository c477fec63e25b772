"""The judge: a finished run's summary and scores, asked of a model (or a Python function) as
structured output and recorded in the log."""
