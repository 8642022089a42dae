"""Render a kustomization the way ``kustomize build`` does, for the features deploy/ uses.

No Debian or PyPI package ships a kustomize binary, so the tests render the
overlays with this module. It supports the subset the Leitstand manifests use:
``resources`` (files and folders), ``namespace``, ``labels`` (metadata only),
``images``, ``secretGenerator`` with literals and ``disableNameSuffixHash``,
and ``patches`` as JSON 6902 operations selected by kind and name. Any other
field raises, so a new feature in deploy/ fails the tests until this supports
it. For both overlays its output equals that of ``kubectl kustomize``
(kustomize v5.5.0).
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED = frozenset(
    {"apiVersion", "kind", "resources", "namespace", "labels", "images", "secretGenerator",
     "generatorOptions", "patches"}
)  # fmt: skip
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding"})


def build(folder: Path) -> list[Resource]:
    """Return the resources of the kustomization in ``folder``, transformed."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise ValueError(f"{folder}/kustomization.yaml: fields {sorted(unknown)} not supported")

    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = folder / entry
        if path.is_dir():
            resources += build(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    resources += _generate_secrets(kustomization)

    for patch in kustomization.get("patches", []):
        _apply_patch(resources, patch)
    for resource in resources:
        _transform(resource, kustomization)
    return resources


def _generate_secrets(kustomization: dict[str, Any]) -> list[Resource]:
    hashed = not kustomization.get("generatorOptions", {}).get("disableNameSuffixHash")
    if hashed and kustomization.get("secretGenerator"):
        raise ValueError("secretGenerator without disableNameSuffixHash is not supported")
    secrets = []
    for generator in kustomization.get("secretGenerator", []):
        data = {}
        for literal in generator["literals"]:
            key, value = literal.split("=", 1)
            data[key] = base64.b64encode(value.encode()).decode()
        metadata = {"name": generator["name"]}
        secrets.append({"apiVersion": "v1", "kind": "Secret", "metadata": metadata,
                        "type": "Opaque", "data": data})  # fmt: skip
    return secrets


def _apply_patch(resources: list[Resource], patch: dict[str, Any]) -> None:
    target = patch["target"]
    matched = [
        resource
        for resource in resources
        if resource["kind"] == target["kind"] and resource["metadata"]["name"] == target["name"]
    ]
    if not matched:
        raise ValueError(f"patch target {target} matches no resource")
    for resource in matched:
        for operation in yaml.safe_load(patch["patch"]):
            _apply_operation(resource, operation)


def _apply_operation(resource: Resource, operation: dict[str, Any]) -> None:
    if operation["op"] not in ("add", "replace"):
        raise ValueError(f"JSON patch operation {operation['op']!r} is not supported")
    *parents, last = operation["path"].lstrip("/").split("/")
    node: Any = resource
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if operation["op"] == "replace" and last not in node:
        raise ValueError(f"JSON patch replaces {operation['path']}, which does not exist")
    node[last] = copy.deepcopy(operation["value"])


def _transform(resource: Resource, kustomization: dict[str, Any]) -> None:
    namespace = kustomization.get("namespace")
    if namespace and resource["kind"] not in CLUSTER_SCOPED:
        resource["metadata"]["namespace"] = namespace
    for labels in kustomization.get("labels", []):
        if labels.get("includeSelectors") or labels.get("includeTemplates"):
            raise ValueError("labels with includeSelectors or includeTemplates not supported")
        resource["metadata"].setdefault("labels", {}).update(labels["pairs"])
    for image in kustomization.get("images", []):
        for container in _containers(resource):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"


def _containers(resource: Resource) -> list[dict[str, Any]]:
    spec = resource.get("spec", {}).get("template", {}).get("spec", {})
    return [*spec.get("initContainers", []), *spec.get("containers", [])]
