"""The system exporter: host, container and process-group metrics in node_exporter's language."""
