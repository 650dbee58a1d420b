"""Isolation of sellers on one local stack: a console user of seller A, signed in at the Cognito stand-in, tries
every route of the console API, the presigned POST and the status lookups against seller B's orders, requests,
campaigns and staged files (local_stack.reliability.cross_seller_cases). Each attempt is refused, and its answer is
byte for byte the answer for a thing that does not exist; nothing of it reaches Amazon."""

from __future__ import annotations

import pytest

from local_stack.reliability.cross_seller import CrossSellerRun, run_cross_seller
from local_stack.reliability.cross_seller_cases import ATTEMPTS, ORDER_A, SELLER_A


@pytest.fixture(scope="module")
def matrix() -> CrossSellerRun:
    return run_cross_seller()


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[attempt.id for attempt in ATTEMPTS])
def test_another_sellers_thing_answers_as_one_that_does_not_exist(matrix: CrossSellerRun, attempt: object) -> None:
    (result,) = [result for result in matrix.results if result.attempt == attempt]
    assert result.problems == [], (result.mine, result.absent)


def test_nothing_of_the_attempts_reached_amazon(matrix: CrossSellerRun) -> None:
    assert matrix.uploads == 0
    assert all(order != ORDER_A for order, _ in matrix.deliveries)


def test_the_presigned_post_is_for_a_key_under_the_users_seller_only(matrix: CrossSellerRun) -> None:
    assert matrix.staged_key.startswith(f"sellers/{SELLER_A}/attachments/")
    assert matrix.staged_key.endswith("/Invoice.pdf")
    assert matrix.policy_key == matrix.staged_key  # S3 refuses a form whose key is another


def test_the_campaign_list_leaves_another_sellers_campaign_out(matrix: CrossSellerRun) -> None:
    assert matrix.campaigns_listed is not None
    assert (matrix.campaigns_listed.status, matrix.campaigns_listed.body) == (200, b'{"campaigns": []}')
