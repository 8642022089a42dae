"""Every manifest validates against the Kubernetes and Prometheus Operator schemas, offline."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.kubernetes.kustomize import Resource

# The Kubernetes version whose OpenAPI schemas kubernetes-validate ships last.
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()

# JSON schemas of the Operator's resources (prometheus-operator 0.80.1); see
# schemas/generate.py for their source and how to regenerate them.
SCHEMAS = Path(__file__).parent / "schemas"
OPERATOR_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")


@functools.cache
def operator_validator(kind: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / f"{kind.lower()}.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator: jsonschema.protocols.Validator = validator_class(
        schema, format_checker=validator_class.FORMAT_CHECKER
    )
    return validator


def name_of(resource: Resource) -> str:
    return f"{resource['kind']}/{resource['metadata']['name']}"


def test_core_resources_match_kubernetes_schemas(overlay: list[Resource]) -> None:
    core = [resource for resource in overlay if resource["kind"] not in OPERATOR_KINDS]
    assert core
    for resource in core:
        # strict: a field the schema does not define fails, as a typo would.
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_operator_resources_match_crd_schemas(overlay: list[Resource]) -> None:
    kinds = {resource["kind"] for resource in overlay} & set(OPERATOR_KINDS)
    assert kinds == set(OPERATOR_KINDS)
    for resource in overlay:
        if resource["kind"] in OPERATOR_KINDS:
            errors = list(operator_validator(resource["kind"]).iter_errors(resource))
            assert not [error.message for error in errors], name_of(resource)


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("ServiceMonitor", {"endpoints": [{"port": "http", "interval": "15 seconds"}]}),
        ("ServiceMonitor", {"endpoint": [{"port": "http"}]}),
        ("PodMonitor", {"podMetricsEndpoints": [{"port": "metrics", "scheme": "ftp"}]}),
        ("PrometheusRule", {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]}),
    ],
    ids=["bad-duration", "unknown-field", "bad-enum", "rule-without-expr"],
)
def test_crd_check_rejects_invalid_resource(kind: str, spec: dict[str, Any]) -> None:
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": kind,
        "metadata": {"name": "broken"},
        "spec": spec,
    }
    if kind != "PrometheusRule":
        spec["selector"] = {"matchLabels": {"app": "x"}}

    assert list(operator_validator(kind).iter_errors(resource))


def test_kubernetes_check_rejects_unknown_field() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "broken"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetport": 8003}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSION, strict=True)
