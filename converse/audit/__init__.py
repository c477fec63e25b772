"""The fidelity audit: what each agent was shown on each call, checked against what it may see."""
