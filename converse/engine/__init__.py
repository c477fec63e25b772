"""A run's machinery: its context, the actors' protocol, one model call, the recorder, replay and
resume, memory, the ledger and the moderator base. It is handed the kind of conversation it runs
and never imports one."""
