"""infra/aws/template.yaml: cfn-lint passes, and the template wires what the handlers need."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "aws" / "template.yaml"
BUILD_SCRIPT = ROOT / "infra" / "aws" / "build.sh"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (``!Ref``, ``!GetAtt``...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag == "Ref":
        return {"Ref": value}
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def cfn_lint() -> str:
    """Return the cfn-lint program of this environment."""
    beside = Path(sys.executable).with_name("cfn-lint")
    program = str(beside) if beside.exists() else shutil.which("cfn-lint")
    assert program, "cfn-lint is not installed (pip install -e '.[dev]')"
    return program


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """The SAM template as data."""
    document: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)
    return document


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the Properties of the resource ``name``."""
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


@pytest.mark.slow
def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [cfn_lint(), str(TEMPLATE)], check=False, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_queue_outlasts_the_registrar_and_redrives_to_the_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    queue = resource(template, "NotificationQueue")
    registrar = resource(template, "RegistrarFunction")

    assert queue["VisibilityTimeout"] >= 6 * registrar["Timeout"]
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert redrive["maxReceiveCount"] >= 5
    dead_letters = resource(template, "DeadLetterQueue")
    assert dead_letters["MessageRetentionPeriod"] >= queue["MessageRetentionPeriod"]


def test_the_registrar_reports_partial_batch_failures(template: dict[str, Any]) -> None:
    registrar = resource(template, "RegistrarFunction")
    (event,) = registrar["Events"].values()

    assert registrar["Handler"] == "lambdas.registrar.handler"
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] <= 10


def test_the_bucket_notifies_the_queue_of_admin_metadata_only(template: dict[str, Any]) -> None:
    configurations = resource(template, "DatasetBucket")["NotificationConfiguration"][
        "QueueConfigurations"
    ]

    assert {c["Event"] for c in configurations} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    for configuration in configurations:
        assert configuration["Queue"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}
        assert configuration["Filter"]["S3Key"]["Rules"] == [{"Name": "suffix", "Value": "/dtool"}]
    statement = resource(template, "NotificationQueuePolicy")["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]
    assert template["Resources"]["DatasetBucket"]["DependsOn"] == "NotificationQueuePolicy"


def test_an_alarm_watches_the_dead_letter_queue(template: dict[str, Any]) -> None:
    alarms = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
        in r["Properties"]["Dimensions"]
    ]

    (alarm,) = alarms
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_api_sits_behind_an_http_api(template: dict[str, Any]) -> None:
    api = resource(template, "ApiFunction")
    (event,) = api["Events"].values()

    assert api["Handler"] == "lambdas.api.handler"
    assert event["Type"] == "HttpApi"
    assert event["Properties"]["PayloadFormatVersion"] == "2.0"
    assert api["Environment"]["Variables"]["JWT_PUBLIC_KEY"] == {"Ref": "JwtPublicKey"}
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DTOOL_LOOKUP_DATABASE_URL_SSM_PARAMETER"] == {
        "Ref": "DatabaseUrlParameterName"
    }


@pytest.mark.parametrize("handler", ["lambdas.registrar.handler", "lambdas.api.handler"])
def test_the_handlers_named_exist(handler: str) -> None:
    module, _, name = handler.rpartition(".")

    assert callable(getattr(importlib.import_module(module), name))


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Return the inline policy statements of an IAM role."""
    policies = resource(template, role)["Policies"]
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    """Return ``value`` as a list (IAM accepts a string or a list)."""
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("role", ["RegistrarRole", "ApiRole"])
def test_the_roles_grant_no_wildcards(template: dict[str, Any], role: str) -> None:
    for statement in statements(template, role):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in as_list(statement["Action"]))
        assert all(r != "*" for r in as_list(statement["Resource"]))


def test_only_the_registrar_reads_the_bucket_and_the_queue(template: dict[str, Any]) -> None:
    def actions(role: str) -> set[str]:
        return {a for s in statements(template, role) for a in as_list(s["Action"])}

    assert actions("RegistrarRole") >= {"s3:GetObject", "s3:ListBucket", "sqs:DeleteMessage"}
    assert {a.split(":")[0] for a in actions("ApiRole")} == {"ssm", "logs"}
    assert actions("RegistrarRole") & {"s3:PutObject", "s3:DeleteObject"} == set()


@pytest.mark.slow
def test_the_template_translates_to_cloudformation_that_lints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("samtranslator")
    from cfnlint.decode import decode  # type: ignore[import-untyped]
    from samtranslator.translator.transform import transform  # type: ignore[import-untyped]

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    document, problems = decode(str(TEMPLATE))
    assert not problems and document is not None
    document["Globals"]["Function"]["CodeUri"] = "s3://artifacts/dtool-lookup.zip"  # as packaged
    parameters = {"BucketName": "datasets", "JwtPublicKey": "ssh-rsa AAAA"}

    translated = transform(document, parameters, NoManagedPolicies())
    output = tmp_path / "translated.json"
    output.write_text(json.dumps(translated, default=str))
    result = subprocess.run(
        [cfn_lint(), str(output)], check=False, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
    mapping = translated["Resources"]["RegistrarFunctionNotifications"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_build_script_parses() -> None:
    result = subprocess.run(
        ["bash", "-n", str(BUILD_SCRIPT)], check=False, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr


def test_an_existing_bucket_can_be_pointed_at_the_queue(template: dict[str, Any]) -> None:
    assert template["Parameters"]["CreateBucket"]["AllowedValues"] == ["true", "false"]
    assert template["Resources"]["DatasetBucket"]["Condition"] == "MakeBucket"
    assert template["Resources"]["DatasetBucketPolicy"]["Condition"] == "MakeBucket"
    # The queue policy names the bucket by parameter, so it admits an existing bucket too.
    policy = resource(template, "NotificationQueuePolicy")["PolicyDocument"]
    source = policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert "${BucketName}" in str(source)
    assert "NotificationQueueArn" in template["Outputs"]
