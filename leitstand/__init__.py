"""Leitstand: the command line, the local stack launcher and the benchmark tool."""
