"""Collectors, one module per node_exporter collector name, plus cgroup and process groups."""
