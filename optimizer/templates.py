"""Label templates in rule fields: ``cache.{{ $labels.cache }}.capacity``.

Only ``{{ $labels.NAME }}`` is supported, the form Prometheus alert templates use
for label values; anything else inside braces is rejected when the rules load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_LABEL_REFERENCE = re.compile(r"^\s*\$labels\.([A-Za-z_][A-Za-z0-9_]*)\s*$")
# Rendered values become parts of knob and cache names, so they may not carry
# dots, slashes, quotes or braces from an alert.
_LABEL_VALUE = re.compile(r"[A-Za-z0-9_-]+")


class LabelTemplateError(ValueError):
    """An alert's labels cannot fill a rule's template."""


class MissingLabelError(LabelTemplateError):
    """An alert lacks a label that a rule's template needs."""

    def __init__(self, label: str, template: str) -> None:
        super().__init__(f"the alert has no label {label!r}, which {template!r} needs")
        self.label = label


class InvalidLabelValueError(LabelTemplateError):
    """A label value that a rule's template needs has characters outside ``[A-Za-z0-9_-]``."""

    def __init__(self, label: str, value: str, template: str) -> None:
        super().__init__(
            f"label {label}={value!r}, which {template!r} needs, is invalid: "
            "a templated value must match [A-Za-z0-9_-]+",
        )
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


def render(template: str, labels: Mapping[str, str], *, check_values: bool = True) -> str:
    """Replace every ``{{ $labels.NAME }}`` with the label's value.

    Raises ``MissingLabelError`` for an absent label and ``InvalidLabelValueError``
    for a value that does not match ``[A-Za-z0-9_-]+`` unless ``check_values`` is false.
    """

    def substitute(placeholder: re.Match[str]) -> str:
        reference = _LABEL_REFERENCE.match(placeholder.group(1))
        if reference is None:
            raise ValueError(f"unsupported template {placeholder.group(0)!r} in {template!r}")
        name = reference.group(1)
        if name not in labels:
            raise MissingLabelError(name, template)
        value = labels[name]
        if check_values and _LABEL_VALUE.fullmatch(value) is None:
            raise InvalidLabelValueError(name, value, template)
        return value

    return _PLACEHOLDER.sub(substitute, template)
