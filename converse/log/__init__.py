"""The event log: one tagged union of events, and the writer and readers of its JSON Lines file."""
