"""Checking artifacts against the source model on host runtimes."""
