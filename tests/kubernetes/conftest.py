"""The rendered overlays of deploy/kubernetes, once per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kubernetes.kustomize import Resource, build

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(path.name for path in (KUBERNETES / "overlays").iterdir())


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> list[Resource]:
    """The resources of one overlay, as ``kustomize build`` renders them."""
    name: str = request.param
    return build(KUBERNETES / "overlays" / name)


def find(resources: list[Resource], kind: str, name: str) -> Resource:
    for resource in resources:
        if resource["kind"] == kind and resource["metadata"]["name"] == name:
            return resource
    raise LookupError(f"no {kind} {name} among {[r['metadata']['name'] for r in resources]}")


def of_kind(resources: list[Resource], *kinds: str) -> list[Resource]:
    return [resource for resource in resources if resource["kind"] in kinds]
