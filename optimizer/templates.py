"""Label templates in rule fields: ``cache.{{ $labels.cache }}.capacity``.

Only ``{{ $labels.NAME }}`` is supported, the form Prometheus alert templates use
for label values; anything else inside braces is rejected when the rules load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_LABEL_REFERENCE = re.compile(r"^\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*$")


class MissingLabelError(ValueError):
    """An alert lacks a label that a rule's template needs."""

    def __init__(self, label: str, template: str) -> None:
        super().__init__(f"the alert has no label {label!r}, which {template!r} needs")
        self.label = label


def template_labels(template: str) -> list[str]:
    """Return the label names ``template`` refers to; raise ``ValueError`` on other syntax."""
    names = []
    for placeholder in _PLACEHOLDER.findall(template):
        reference = _LABEL_REFERENCE.match(placeholder)
        if reference is None:
            raise ValueError(
                f"unsupported template {{{{{placeholder}}}}} in {template!r}: "
                "only {{ $labels.NAME }} is supported"
            )
        names.append(reference.group(1))
    return names


def render(template: str, labels: Mapping[str, str]) -> str:
    """Replace every ``{{ $labels.NAME }}`` with the label's value."""

    def substitute(placeholder: re.Match[str]) -> str:
        reference = _LABEL_REFERENCE.match(placeholder.group(1))
        if reference is None:
            raise ValueError(f"unsupported template {placeholder.group(0)!r} in {template!r}")
        name = reference.group(1)
        if name not in labels:
            raise MissingLabelError(name, template)
        return labels[name]

    return _PLACEHOLDER.sub(substitute, template)
