"""The optimizer: receives Alertmanager notifications and tunes the app through its control API.

An alert meets a rule (``rules.yml``), the guards (duplicate, staleness, cooldown,
budgets, conflicts) decide whether it may act, the decision is written to the
audit store, and the action runs in the background against
``http://{instance}/control``. A later Prometheus query verifies that it helped.
"""
