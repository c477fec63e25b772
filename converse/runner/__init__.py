"""A run put together: the kind of conversation a scenario holds (councils or a role-play), its
model and judge, handed to the engine; ``run_scenario`` and ``resume_run``."""
