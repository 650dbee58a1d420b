"""The LWA client secret's rotation end to end on the local stack (issue 14, item 8): the daily check calls
rotateApplicationClientSecret on the emulator, which sends the new secret to the stack's ClientSecretQueue
(moto SQS), as Amazon sends it to the queue registered in the Developer Console; the queue drives the
notifications function (LocalStack.poll_queue, as Lambda's poller), which stores it in the credentials secret.
Messages are sent before, just after, and past the old secret's seven days, without a gap."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from buyer_messaging import rotation
from buyer_messaging.observability import logger
from local_stack.stack import LocalStack, SpApiTarget, in_process_aws
from spapi_emulator import Emulator, load_default_seed
from tests.integration.conftest import RETRY_SPEEDUP, Stack

ORDER = "123-1234567-1234567"
DOCUMENT = {
    "amazonOrderId": ORDER,
    "marketplaceId": "ATVPDKIKX0DER",
    "messageType": "unexpectedProblem",
    "text": "Your parcel is delayed by two days.",
}
DAY = 24 * 3600.0
SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
MAPPING = "ClientSecretNotificationsMapping"


@pytest.fixture
def stack() -> Iterator[Stack]:
    """The local stack on an emulator whose clock runs at real speed: the rotation's usage plan (one call a
    minute) throttles a second call at once, and the test ages the old secret by moving the clock."""
    seed = load_default_seed()
    with Emulator(seed) as emulator, in_process_aws():
        target = SpApiTarget(emulator.base_url, emulator.token_url, emulator.upload_host, seed.credentials.as_secret())
        local = LocalStack(target, retry_speedup=RETRY_SPEEDUP)
        deployment = local.deploy()
        try:
            yield Stack(local, emulator, deployment.bucket, local.tap_events())
        finally:
            local.close()


def _queue_arn(stack: Stack, queue: str = "ClientSecretQueue") -> str:
    assert stack.local.deployment is not None
    name = stack.local.deployment.queues[queue].rsplit("/", 1)[1]
    return f"arn:aws:sqs:us-east-1:123456789012:{name}"


def _register(stack: Stack) -> None:
    """What the runbook asks of the developer: the stack's queue for both notifications."""
    for notification_type in (rotation.NEW_SECRET, rotation.SECRET_EXPIRY):
        stack.emulator.register_notification_queue(notification_type, _queue_arn(stack))


def _credentials(stack: Stack) -> dict[str, Any]:
    assert stack.local.deployment is not None
    secrets = stack.local.client("secretsmanager")
    return dict(json.loads(secrets.get_secret_value(SecretId=stack.local.deployment.secret_id)["SecretString"]))


def _invoke(stack: Stack, function: str, event: Any) -> tuple[Any, bool]:
    assert stack.local.deployment is not None
    local = stack.local.lambdas.function(stack.local.deployment.functions[function])
    payload, errored, _ = stack.local.lambdas.invoke(local, event)
    return json.loads(payload), errored


def _check(stack: Stack) -> tuple[Any, bool]:
    return _invoke(stack, "RotateClientSecretFunction", SCHEDULED)


def _send(stack: Stack) -> None:
    execution = stack.start(DOCUMENT)
    assert execution["status"] == "SUCCEEDED", execution.get("cause")


def _lwa_statuses(stack: Stack) -> list[int]:
    return [call["status"] for call in stack.emulator.calls("lwaToken")]


def test_a_rotation_stores_the_new_secret_and_messages_go_out_before_and_after_the_old_ones_end(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    captured = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", captured)
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    request.addfinalizer(lambda: logger.setLevel(level))
    _register(stack)
    seed = stack.emulator.seed.credentials
    _send(stack)  # the workflow's functions now hold the old secret in their caches

    checked, errored = _check(stack)  # the secret's age is unknown (stored by hand): rotate

    assert (checked, errored) == ({"rotationRequested": True, "daysLeft": None}, False)
    new = stack.emulator.client_secret()
    assert new != seed.client_secret
    (notification,) = stack.emulator.notifications()
    assert (notification["notificationType"], notification["queueArn"], notification["delivered"]) == (
        rotation.NEW_SECRET,
        _queue_arn(stack),
        True,
    )
    assert stack.local.poll_queue(MAPPING) == [{"payload": {"batchItemFailures": []}, "errored": False}]
    stored = _credentials(stack)
    expires_at = notification["body"]["payload"]["applicationOAuthClientNewSecret"]["newClientSecretExpiryTime"]
    assert stored == {
        "clientId": seed.client_id,
        "clientSecret": new,
        "refreshToken": seed.refresh_token,
        "clientSecretExpiresAt": expires_at[:19] + "Z",
    }

    _send(stack)  # at once: the cached old secret still works (its seven days)
    stack.emulator.advance_clock(7 * DAY + 1)  # the old secret, and every access token, have expired
    _send(stack)  # LWA refuses the cached old secret once; the secret is read again, and the message goes out
    assert _lwa_statuses(stack)[-2:] == [401, 200]
    assert len(stack.emulator.deliveries(ORDER)) == 3

    checked, errored = _check(stack)  # the next day's check: a fresh secret, nothing to do
    assert errored is False and checked["rotationRequested"] is False
    assert 179.0 < checked["daysLeft"] <= 180.0
    assert len(stack.emulator.notifications()) == 1

    assert "Stored the new LWA client secret" in captured.getvalue()
    written = captured.getvalue() + json.dumps(stack.emulator.calls())
    for forbidden in (new, seed.client_secret, seed.refresh_token):
        assert forbidden not in written


def test_amazons_expiry_warning_starts_a_rotation(stack: Stack) -> None:
    _register(stack)
    stack.emulator.warn_secret_expiry()

    answers = stack.local.poll_queue(MAPPING)  # the warning asks for a rotation, whose new secret arrives too

    assert [answer["payload"] for answer in answers] == [{"batchItemFailures": []}] * 2
    assert [n["notificationType"] for n in stack.emulator.notifications()] == [
        rotation.SECRET_EXPIRY,
        rotation.NEW_SECRET,
    ]
    assert _credentials(stack)["clientSecret"] == stack.emulator.client_secret()


def test_a_notification_for_another_client_is_not_stored_and_ends_in_the_dead_letter_queue(stack: Stack) -> None:
    assert stack.local.deployment is not None
    sqs = stack.local.client("sqs")
    queue = stack.local.deployment.queues["ClientSecretQueue"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})  # redelivered at once
    body = json.loads(
        (stack.local.root / "events/client_secret_notifications/new-secret.json").read_text(encoding="utf-8")
    )["Records"][0]["body"]
    sqs.send_message(QueueUrl=queue, MessageBody=body.replace("amzn1.application-oa2-client.test", "amzn1.other"))
    before = _credentials(stack)

    answers = [stack.local.poll_queue(MAPPING) for _ in range(6)]

    assert all(answer[0]["errored"] for answer in answers[:5])  # the whole batch of one failed
    assert answers[5] == []  # past maxReceiveCount (5) the queue moved it
    assert _credentials(stack) == before
    dead = sqs.receive_message(QueueUrl=stack.local.deployment.queues["ClientSecretDeadLetterQueue"])["Messages"]
    assert [
        json.loads(message["Body"])["payload"]["applicationOAuthClientNewSecret"]["clientId"] for message in dead
    ] == ["amzn1.other"]


def test_without_a_registered_queue_the_check_fails_by_name(stack: Stack) -> None:
    answer, errored = _check(stack)

    assert errored is True
    assert answer["errorType"] == "ClientSecretRotationNotEnrolled"
    assert "Application is not enrolled for rotation notification" in answer["errorMessage"]
    assert stack.emulator.client_secret() == stack.emulator.seed.credentials.client_secret


def test_a_token_of_the_wrong_scope_is_refused_by_name(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(stack)
    monkeypatch.setattr(rotation, "ROTATION_SCOPE", "sellingpartnerapi::notifications")

    answer, errored = _check(stack)

    assert (errored, answer["errorType"]) == (True, "ClientSecretRotationRefused")
    assert "Access to requested resource is denied." in answer["errorMessage"]
    assert stack.emulator.notifications() == []


def test_no_second_rotation_while_the_first_ones_secret_is_not_stored(stack: Stack) -> None:
    _register(stack)
    assert _check(stack)[0]["rotationRequested"] is True  # its notification is never handled
    secret = stack.emulator.client_secret()

    answer, errored = _check(stack)

    assert (errored, answer["errorType"]) == (True, "ClientSecretNotStored")
    assert stack.emulator.client_secret() == secret
    assert len(stack.emulator.notifications()) == 1


def test_a_second_rotation_within_the_minute_is_throttled_and_changes_nothing(stack: Stack) -> None:
    _register(stack)
    assert _check(stack)[0]["rotationRequested"] is True
    stack.local.poll_queue(MAPPING)
    stored = _credentials(stack)
    assert stack.local.deployment is not None
    secrets = stack.local.client("secretsmanager")
    # The secret stored by hand since (no expiry): its age is unknown again, so a rotation, one minute too soon.
    forgotten = {key: value for key, value in stored.items() if key != rotation.EXPIRES_AT_FIELD}
    secrets.put_secret_value(SecretId=stack.local.deployment.secret_id, SecretString=json.dumps(forgotten))
    secrets.untag_resource(SecretId=stack.local.deployment.secret_id, TagKeys=[rotation.REQUESTED_TAG])

    answer, errored = _check(stack)

    assert (errored, answer["errorType"]) == (True, "SpApiThrottled")
    assert stack.emulator.client_secret() == stored["clientSecret"]
    assert len(stack.emulator.notifications()) == 1
