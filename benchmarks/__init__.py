"""Benchmarks: each module measures figures as ratios in one run; run.py gathers them."""
