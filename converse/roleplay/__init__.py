"""CAMEL's society on the engine: the AI user and assistant, the task specifier and planner, the
critic, and the moderator of their chat."""
