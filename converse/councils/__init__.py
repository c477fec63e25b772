"""The lab conversation: organisations as agents, their councils of subagents, and the moderators
that hand out their turns."""
