"""Write the JSON schemas of the Prometheus Operator resources the manifests use.

The schemas come from the pydantic models that cloudcoil-models-prometheus-operator
generates from the Operator's CRD OpenAPI schemas. That package registers a
pytest plugin with dependencies of its own, so it stays out of the project's
environment; run this script in a throw-away one:

    python3 -m venv /tmp/crd-venv
    /tmp/crd-venv/bin/pip install cloudcoil-models-prometheus-operator==0.80.1.0
    /tmp/crd-venv/bin/python tests/kubernetes/schemas/generate.py

Every object with properties gets ``additionalProperties: false``, because the
models ignore unknown fields, while ``kubectl apply --validate=strict`` rejects
them: a misspelt field must fail the check, not vanish in the cluster.
Patterns that open with ``^(?i)`` (valid in Go) become ``(?i)^`` for Python.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cloudcoil.models.prometheus_operator import v1

KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")
PACKAGE = "cloudcoil.models.prometheus_operator"


def close_objects(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("^(?i)"):
            # Go allows a flag group anywhere, Python's re only at the start.
            node["pattern"] = "(?i)^" + pattern.removeprefix("^(?i)")
        for child in node.values():
            close_objects(child)
    elif isinstance(node, list):
        for child in node:
            close_objects(child)


def main() -> None:
    folder = Path(__file__).resolve().parent
    for kind in KINDS:
        schema = getattr(v1, kind).model_json_schema(by_alias=True, mode="validation")
        close_objects(schema)
        schema["$comment"] = f"generated from {PACKAGE} {version(PACKAGE)} by generate.py"
        path = folder / f"{kind.lower()}.json"
        path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
