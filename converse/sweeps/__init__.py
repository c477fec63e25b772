"""Many runs: a sweep's grid, running many at once in one process or on Ray, and the summary
and report over their results."""
