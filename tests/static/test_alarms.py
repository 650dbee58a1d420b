"""The alarms and the dashboard read metrics that exist: a metric of buyer_messaging.metric_catalog (the template's
namespace, the catalog's name, exactly the catalog's dimensions and values) or one AWS publishes (a small table of
AWS's own, with their dimension names); every alarm calls the topic, takes its threshold from a parameter and
links its runbook section, and the runbook has a section for every alarm and none for an alarm that is gone."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from buyer_messaging import metric_catalog
from tests.support import ROOT

pytestmark = pytest.mark.static

RUNBOOK = ROOT / "docs" / "runbook.md"
# What AWS publishes, as the alarms and widgets read it: (namespace, metric) -> its dimension names, and the
# resource type each dimension's value must name (AWS/Lambda, AWS/States, AWS/SQS user guides, "metrics").
AWS_METRICS: dict[tuple[str, str], dict[str, str]] = {
    ("AWS/Lambda", "Errors"): {"FunctionName": "AWS::Serverless::Function"},
    ("AWS/Lambda", "Throttles"): {"FunctionName": "AWS::Serverless::Function"},
    ("AWS/Lambda", "Duration"): {"FunctionName": "AWS::Serverless::Function"},
    ("AWS/States", "ExecutionsFailed"): {"StateMachineArn": "AWS::Serverless::StateMachine"},
    ("AWS/States", "ExecutionsTimedOut"): {"StateMachineArn": "AWS::Serverless::StateMachine"},
    ("AWS/States", "ExecutionsAborted"): {"StateMachineArn": "AWS::Serverless::StateMachine"},
    ("AWS/States", "ExecutionTime"): {"StateMachineArn": "AWS::Serverless::StateMachine"},
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): {"QueueName": "AWS::SQS::Queue"},
}
# A sum or maximum over every value of one dimension, without listing them: an alarm's Metrics Insights query or
# a dashboard's SEARCH.
INSIGHTS = re.compile(r"^SELECT (?:SUM|MAX|MIN|AVG|COUNT)\((\w+)\) FROM SCHEMA\(\"?([\w/]+)\"?((?:, *\w+)*)\)$")
SEARCH = re.compile(r"SEARCH\('\{([^}]*)\} MetricName=\"(\w+)\"', '(\w+)', \d+\)")
# An alarm's threshold is a parameter, or 1 where one at all is the alarm's meaning (a queue not empty).
ANY_AT_ALL = 1


@dataclass(frozen=True)
class Read:
    """One metric an alarm or a widget reads. ``dimensions`` maps a name to its value (a template value: a string
    or an intrinsic function), or to None where every value is read (a query over the dimension)."""

    where: str
    namespace: str
    name: str
    dimensions: dict[str, Any]


def kebab(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def alarm_reads(name: str, alarm: dict[str, Any]) -> Iterator[Read]:
    if "MetricName" in alarm:
        dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        yield Read(name, alarm["Namespace"], alarm["MetricName"], dimensions)
        return
    ids = {query["Id"] for query in alarm["Metrics"]}
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            yield Read(f"{name}.{query['Id']}", metric["Namespace"], metric["MetricName"], dimensions)
            continue
        expression = query["Expression"]
        found = INSIGHTS.match(expression)
        if found:
            dimensions = {d.strip(): None for d in found.group(3).split(",") if d.strip()}
            yield Read(f"{name}.{query['Id']}", found.group(2), found.group(1), dimensions)
            continue
        # Metric math: only the ids of this alarm's metrics, its functions and numbers.
        words = set(re.findall(r"[A-Za-z_]\w*", expression)) - {"FILL", "SUM", "MAX", "IF", "AND", "OR"}
        assert words <= ids, f"{name}: {expression} names {sorted(words - ids)}, no metric of the alarm"


def _placeholders(body: str, template: dict[str, Any]) -> str:
    """The dashboard's Fn::Sub string as JSON: each ${Ref} or ${Resource.Attribute} a string naming it."""

    def placeholder(match: re.Match[str]) -> str:
        reference = match.group(1)
        assert reference.split(".")[0] in template["Resources"] or reference.startswith("AWS::"), reference
        return "@" + reference

    return re.sub(r"\$\{([\w:.]+)\}", placeholder, body)


def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    loaded: dict[str, Any] = json.loads(_placeholders(body, template))
    return loaded


def widget_reads(template: dict[str, Any]) -> Iterator[Read]:
    for number, widget in enumerate(dashboard(template)["widgets"]):
        if widget["type"] != "metric":
            continue
        where = f"widget {number} ({widget['properties']['title']})"
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                found = SEARCH.fullmatch(line[0]["expression"])
                assert found, f"{where}: {line[0]['expression']}"
                namespace, *names = [part.strip() for part in found.group(1).split(",")]
                yield Read(where, namespace, found.group(2), dict.fromkeys(names))
                continue
            names = [part for part in line[2:] if isinstance(part, str)]
            assert len(names) % 2 == 0, f"{where}: {line}"
            dimensions = {names[i]: names[i + 1] for i in range(0, len(names), 2)}
            yield Read(where, line[0], line[1], dimensions)


def all_reads(template: dict[str, Any]) -> list[Read]:
    reads = [read for name, alarm in alarms(template).items() for read in alarm_reads(name, alarm)]
    return reads + list(widget_reads(template))


def _resource_named(value: Any, template: dict[str, Any]) -> str | None:
    """The type of the resource a dimension value names: Ref X, GetAtt X.QueueName, or '@X' in the dashboard."""
    if isinstance(value, dict) and "Ref" in value:
        logical = value["Ref"]
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        logical = value["Fn::GetAtt"][0]
    elif isinstance(value, str) and value.startswith("@"):
        logical = value[1:].split(".")[0]
    else:
        return None
    resource: dict[str, Any] = template["Resources"][logical]
    return str(resource["Type"])


def problems(read: Read, template: dict[str, Any]) -> list[str]:
    """Why ``read`` is no metric the stack's code or AWS publishes (empty: it is one)."""
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    if read.namespace.startswith("AWS/"):
        expected = AWS_METRICS.get((read.namespace, read.name))
        if expected is None:
            return [f"{read.where}: {read.namespace} {read.name} is not in the table of AWS's metrics"]
        if set(read.dimensions) != set(expected):
            return [f"{read.where}: {read.name} has dimensions {sorted(read.dimensions)}, AWS's are {sorted(expected)}"]
        return [
            f"{read.where}: {name} names {value!r}, not a {kind}"
            for name, kind in expected.items()
            if (value := read.dimensions[name]) is not None and _resource_named(value, template) != kind
        ]
    namespace = variables["POWERTOOLS_METRICS_NAMESPACE"]
    if read.namespace != namespace:
        return [f"{read.where}: namespace {read.namespace}, the functions write to {namespace}"]
    metric = metric_catalog.BY_NAME.get(read.name)
    if metric is None:
        return [f"{read.where}: {read.name} is not in buyer_messaging.metric_catalog"]
    expected_names = {"service", *metric.dimensions}
    if set(read.dimensions) != expected_names:
        written = sorted(expected_names)
        return [f"{read.where}: {read.name} has dimensions {sorted(read.dimensions)}, the code writes {written}"]
    found = []
    if read.dimensions["service"] not in (None, variables["POWERTOOLS_SERVICE_NAME"]):
        found.append(f"{read.where}: service {read.dimensions['service']!r}")
    for name, values in metric.dimensions.items():
        if read.dimensions[name] is not None and read.dimensions[name] not in values:
            found.append(f"{read.where}: {name} {read.dimensions[name]!r} is none of the values the code writes")
    return found


def test_every_alarm_and_widget_reads_a_metric_the_code_or_aws_publishes(template: dict[str, Any]) -> None:
    reads = all_reads(template)
    assert len(reads) > 40  # every alarm and widget was read, not skipped
    assert [problem for read in reads for problem in problems(read, template)] == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("MessagesFailedAlarm", "MetricName", "MessageFailed"), "MessagesFailedAlarm: MessageFailed is not in"),
        (("MessagesFailedAlarm", "Namespace", "Buyer-Messaging"), "MessagesFailedAlarm: namespace Buyer-Messaging"),
        (("MessagesWaitingAlarm", "Dimensions", [{"Name": "service", "Value": "buyer-messaging"}]), "has dimensions"),
        (
            (
                "BadInputAlarm",
                "Dimensions",
                [{"Name": "service", "Value": "buyer-messaging"}, {"Name": "Reason", "Value": "Typo"}],
            ),
            "'Typo' is none",
        ),
        (("FailedStartsAlarm", "MetricName", "NumberOfMessagesVisible"), "not in the table of AWS's metrics"),
        (
            ("ApiErrorsAlarm", "Dimensions", [{"Name": "FunctionName", "Value": {"Ref": "FailedStartsQueue"}}]),
            "not a AWS::Serverless::Function",
        ),
    ],
)
def test_the_check_sees_a_metric_nothing_publishes(template: dict[str, Any], change: Any, problem: str) -> None:
    alarm, key, value = change
    broken = json.loads(json.dumps(template))
    broken["Resources"][alarm]["Properties"][key] = value
    found = [p for read in all_reads(broken) for p in problems(read, broken)]
    assert len(found) == 1 and problem in found[0], found


def test_the_check_sees_a_query_or_a_widget_of_a_metric_nothing_publishes(template: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(template))
    query = broken["Resources"]["SpApiThrottlingAlarm"]["Properties"]["Metrics"][0]
    query["Expression"] = query["Expression"].replace("Operation, service", "service")
    resource = broken["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    resource["Fn::Sub"] = resource["Fn::Sub"].replace('MetricName=\\"SpApiCalls\\"', 'MetricName=\\"SpApiCall\\"')
    found = [p for read in all_reads(broken) for p in problems(read, broken)]
    assert len(found) == 2, found
    assert "SpApiThrottlingAlarm.throttled: SpApiQuotaExceeded has dimensions ['service']" in found[0]
    assert "SpApiCall is not in buyer_messaging.metric_catalog" in found[1]


def test_every_alarm_calls_the_topic_and_takes_its_threshold_from_a_parameter(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        if "Metrics" in alarm:  # metric math: the alarm watches the one query that returns data
            assert [q.get("ReturnData", True) for q in alarm["Metrics"]].count(True) == 1, name
        threshold = alarm["Threshold"]
        if threshold == ANY_AT_ALL:
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        else:
            assert threshold in [{"Ref": parameter} for parameter in parameters], name
            assert "Default" in parameters[threshold["Ref"]], name


def test_a_count_missing_is_no_alarm(template: dict[str, Any]) -> None:
    """Counts go missing when nothing happened; only the deadline alarm treats a missing daily report as bad."""
    missing = {name: alarm["TreatMissingData"] for name, alarm in alarms(template).items()}
    assert {name for name, treat in missing.items() if treat != "notBreaching"} == {"ClientSecretDeadlineAlarm"}
    assert missing["ClientSecretDeadlineAlarm"] == "breaching"


def test_the_open_alarms_widget_lists_every_alarm(template: dict[str, Any]) -> None:
    (widget,) = [w for w in dashboard(template)["widgets"] if w["type"] == "alarm"]
    assert sorted(widget["properties"]["alarms"]) == sorted(f"@{name}.Arn" for name in alarms(template))


def _runbook_sections() -> dict[str, str]:
    """Anchor -> the heading's text, for the runbook's alarm sections (`## <a id="..."></a>AlarmName`)."""
    text = RUNBOOK.read_text(encoding="utf-8")
    return dict(re.findall(r'^### <a id="([a-z0-9-]+)"></a>(\w+)$', text, re.M))


def test_every_alarm_links_its_runbook_section_and_every_section_its_alarm(template: dict[str, Any]) -> None:
    sections = _runbook_sections()
    for name, alarm in alarms(template).items():
        assert alarm["AlarmDescription"].endswith(f"Runbook: docs/runbook.md#{kebab(name)}"), name
        assert sections.get(kebab(name)) == name, f"docs/runbook.md has no section for {name}"
    assert sorted(sections.values()) == sorted(alarms(template))


def test_the_alarm_topic_is_encrypted_under_a_key_cloudwatch_may_use(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    (statement,) = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert (statement["Effect"], sorted(statement["Action"])) == ("Allow", ["kms:Decrypt", "kms:GenerateDataKey*"])
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert statement["Condition"]["ArnLike"] == {
        "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
    }
    # Nobody else may use the key to read the topic's messages: the account only administers it.
    uses = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:*"}
    others = [s for s in key["KeyPolicy"]["Statement"] if s is not statement]
    assert [sorted(uses & set(s["Action"])) for s in others] == [[] for _ in others]


def test_alarm_email_subscribes_an_address_only_when_set(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert re.fullmatch(parameter["AllowedPattern"], "ops@example.com")
    assert not re.fullmatch(parameter["AllowedPattern"], "not an address")
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_the_readme_table_names_every_alarm_with_its_runbook_link_and_threshold(template: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \[`(\w+)`\]\(docs/runbook\.md#([a-z0-9-]+)\) \| [^|]+ \| ([^|]+) \|$", readme, re.M)
    assert sorted(name for name, _, _ in rows) == sorted(alarms(template))
    for name, anchor, threshold in rows:
        assert anchor == kebab(name)
        # The parameter that tunes it: its threshold's, or else its metrics' period's (CampaignStallSeconds).
        alarm = alarms(template)[name]
        periods = [q["MetricStat"]["Period"] for q in alarm.get("Metrics", []) if "MetricStat" in q]
        tuned = [value["Ref"] for value in (alarm["Threshold"], *periods) if isinstance(value, dict)]
        if not tuned:
            assert threshold.strip() == "any", name
        else:
            default = template["Parameters"][tuned[0]]["Default"]
            assert threshold.strip() == f"`{tuned[0]}` ({default})", name
