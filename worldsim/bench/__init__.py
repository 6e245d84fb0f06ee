"""Benchmarks: each module is a command writing JSON (python -m worldsim.bench.<name>)."""
