"""The TOML model of a simulation: its types, loading and checks, dials, overrides, templates and
the calendar."""
