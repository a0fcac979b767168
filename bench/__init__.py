"""Vigil's benchmarks: `python -m bench` prints figures and writes them to JSON."""
