"""What is read out of a log: Markdown transcripts of lab conversations and role-plays, and
CAMEL's chat, instruction and fine-tuning records. Pure functions of the events."""
