"""The rules file: the shipped rules, line-precise errors, matchers, templates, durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from optimizer.durations import format_duration, parse_duration
from optimizer.matchers import parse_matcher
from optimizer.rules import DEFAULT_RULES_PATH, RulesError, load_rules, parse_rules
from optimizer.templates import MissingLabelError, render

ALERT_NAMES = {
    "LeitstandHighLatency",
    "LeitstandSaturation",
    "LeitstandCacheEvicting",
    "LeitstandCacheHitRatioLow",
}


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as raised:
        parse_rules(text, Path("rules.yml"))
    return str(raised.value).splitlines()


def test_default_rules_load() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)

    assert {rule.alert for rule in rules.rules} == ALERT_NAMES
    latency = rules.match(
        {"alertname": "LeitstandHighLatency", "service": "erp", "instance": "a:1"}
    )
    assert latency is not None
    assert latency.on_resolved == "revert"
    assert latency.action.describe({}) == "set degraded to 1"
    cache = rules.match({"alertname": "LeitstandCacheEvicting", "service": "erp", "cache": "lager"})
    assert cache is not None
    assert cache.action.knob_for({"cache": "lager"}) == "cache.lager.capacity"
    assert rules.match({"alertname": "LeitstandRequestsShed", "service": "erp"}) is None
    assert rules.match({"alertname": "LeitstandHostHighCpu", "service": "host"}) is None


def test_errors_name_file_and_line() -> None:
    text = """\
budget: {max_actions: 0, window: 10m}
rules:
  - name: grow
    alert: LeitstandCacheEvicting
    matchers: ['cache=kunden"']
    action:
      kind: multiply
      knob: cache.{{ $labels.cache }}.capacity
      factor: 2
    cooldown: 5
  - name: degrade
    alert: LeitstandHighLatency
    action: {kind: set, knob: degradd, value: 1}
    colldown: 5m
"""
    assert problems(text) == [
        "rules.yml:1: budget.max_actions: Input should be greater than or equal to 1",
        "rules.yml:5: rules[0].matchers: invalid label matcher 'cache=kunden\"': expected "
        'name, operator (=, !=, =~, !~) and value, for example service!="optimizer"',
        "rules.yml:7: rules[0].action: a factor above 1 needs a max, the bound the knob may "
        "grow to",
        "rules.yml:10: rules[0].cooldown: a duration needs a unit: write 5s or 5m, not 5",
        "rules.yml:13: rules[1].action.knob: unknown knob 'degradd'; the control API has "
        "cache.<name>.capacity, cache.<name>.ttl_seconds, shed.max_in_flight, degraded, "
        "workers, fault.latency_seconds, fault.error_ratio",
        "rules.yml:14: rules[1].colldown: unknown field 'colldown'; check its spelling and "
        "indentation",
    ]


def test_duplicate_rule_names_point_at_second() -> None:
    text = """\
rules:
  - name: degrade
    alert: LeitstandHighLatency
    action: {kind: set, knob: degraded, value: 1}
  - name: degrade
    alert: LeitstandHighErrorRatio
    action: {kind: set, knob: degraded, value: 1}
"""
    assert problems(text) == ["rules.yml:5: rules[1].name: duplicate rule name 'degrade'"]


def test_duplicate_yaml_key_is_an_error() -> None:
    text = """\
rules:
  - name: degrade
    alert: LeitstandHighLatency
    alert: LeitstandHighErrorRatio
    action: {kind: set, knob: degraded, value: 1}
"""
    assert problems(text) == ["rules.yml:4: duplicate key 'alert'"]


def test_invalid_yaml_names_line() -> None:
    assert problems("rules:\n  - name: [unclosed\n") == [
        "rules.yml:3: invalid YAML: expected ',' or ']', but got '<stream end>'"
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("{kind: set, knob: degraded}", "rules[0].action.value: missing required field 'value'"),
        ("{kind: restart}", "rules[0].action: Input tag 'restart' found using 'kind'"),
        (
            "{kind: add, knob: workers, amount: -1}",
            "a negative amount needs a min, the bound the knob may shrink to",
        ),
        (
            "{kind: clear_cache, cache: '{{ .Labels.cache }}'}",
            "only {{ $labels.NAME }} is supported",
        ),
    ],
    ids=["missing-value", "unknown-kind", "unbounded-decrease", "go-template"],
)
def test_invalid_actions_are_explained(action: str, message: str) -> None:
    text = f"rules:\n  - name: r\n    alert: A\n    action: {action}\n"
    [problem] = problems(text)
    assert problem.startswith("rules.yml:4: ")
    assert message in problem


def test_revert_needs_a_knob_change() -> None:
    text = """\
rules:
  - name: r
    alert: A
    action: {kind: clear_cache}
    on_resolved: revert
"""
    [problem] = problems(text)
    assert "on_resolved: revert needs an action that changes a knob" in problem


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"missing\.yml:0: cannot read the rules file"):
        load_rules(tmp_path / "missing.yml")


def test_highest_priority_rule_wins() -> None:
    rules = parse_rules(
        """\
rules:
  - name: low
    alert: A
    action: {kind: set, knob: degraded, value: 1}
  - name: high
    alert: A
    matchers: ['severity=~"warn.*|critical"']
    action: {kind: set, knob: shed.max_in_flight, value: 32}
    priority: 10
  - name: also-high
    alert: A
    action: {kind: set, knob: shed.max_in_flight, value: 16}
    priority: 10
""",
        Path("rules.yml"),
    )
    first = rules.match({"alertname": "A", "severity": "warning"})
    fallback = rules.match({"alertname": "A", "severity": "info"})
    assert first is not None
    assert first.name == "high"
    assert fallback is not None
    assert fallback.name == "also-high"


@pytest.mark.parametrize(
    ("matcher", "labels", "expected"),
    [
        ('service="erp"', {"service": "erp"}, True),
        ('service!="optimizer"', {"service": "optimizer"}, False),
        ('service!="optimizer"', {}, True),
        ('cache=~"kunden|artikel"', {"cache": "artikel"}, True),
        ('cache=~"kunden"', {"cache": "kunden2"}, False),
        ('cache!~"prog.*"', {"cache": "prognose"}, False),
        ('cache!=""', {}, False),
        ("job = erp", {"job": "erp"}, True),
        (r'path="a\"b"', {"path": 'a"b'}, True),
    ],
)
def test_matchers(matcher: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(matcher).matches(labels) is expected


def test_invalid_regex_matcher_is_explained() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        parse_matcher('cache=~"("')


def test_template_rendering() -> None:
    assert render("cache.{{ $labels.cache }}.ttl_seconds", {"cache": "lager"}) == (
        "cache.lager.ttl_seconds"
    )
    with pytest.raises(MissingLabelError, match="no label 'cache'"):
        render("cache.{{$labels.cache}}.capacity", {})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m30s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172_800), ("250ms", 0.25)],
)
def test_durations_round_trip(text: str, seconds: float) -> None:
    duration = parse_duration(text)
    assert duration == timedelta(seconds=seconds)
    assert format_duration(duration) == text


@pytest.mark.parametrize("text", ["5", "m", "5 m", "-5m", "1.5h"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_check_rules_lists_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    from optimizer.cli import main

    assert main(["--check-rules"]) == 0
    output = capsys.readouterr().out.splitlines()
    assert output[0] == f"{DEFAULT_RULES_PATH}: 4 rules, valid"
    assert "  degrade-on-high-latency: LeitstandHighLatency -> set degraded" in output
