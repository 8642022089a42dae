"""The Grafana dashboards of Leitstand, generated from Python.

``python -m leitstand.dashboards`` writes them to ``grafana/dashboards/``;
the colour thresholds come from ``prometheus/thresholds.yml``.
"""
