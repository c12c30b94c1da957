"""Pipekit's benchmark suite (``python -m bench``); see docs/benchmarks.md and run.py."""
