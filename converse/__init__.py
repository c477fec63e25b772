"""converse: simulate conversations between LLM agents as actors."""

__all__: list[str] = []
