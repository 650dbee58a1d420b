"""DynamoDB attribute values, made and read with boto3's TypeSerializer / TypeDeserializer (buyer_messaging.table)."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from buyer_messaging import table

RECORD = {
    "status": "uploading",
    "attachments": [{"fileName": "Invoice 1.pdf", "size": 1234, "contentMd5": "1B2M2Y8AsgTpgAmY7PhCfg=="}],
    "history": [{"status": "received", "at": "2026-12-06T10:00:00.000Z"}],
    "waitingForQuota": None,
    "sentOnce": True,
    "tat": 1765015200.123456,
    "remaps": [(3, 1765015200.5, 0.5)],
}


def test_a_record_is_what_boto3_makes_of_it_with_floats_as_their_exact_decimal() -> None:
    item = table.to_item(RECORD)

    assert item["status"] == {"S": "uploading"}
    assert item["waitingForQuota"] == {"NULL": True}
    assert item["sentOnce"] == {"BOOL": True}
    assert item["tat"] == {"N": "1765015200.123456"}
    assert item["remaps"] == {"L": [{"L": [{"N": "3"}, {"N": "1765015200.5"}, {"N": "0.5"}]}]}
    assert item["attachments"] == {
        "L": [
            {
                "M": {
                    "fileName": {"S": "Invoice 1.pdf"},
                    "size": {"N": "1234"},
                    "contentMd5": {"S": "1B2M2Y8AsgTpgAmY7PhCfg=="},
                }
            }
        ]
    }
    assert TypeDeserializer().deserialize(item["tat"]) == TypeDeserializer().deserialize({"N": repr(RECORD["tat"])})


def test_a_record_comes_back_as_it_was_written() -> None:
    back = table.from_item(table.to_item(RECORD))

    assert back == {**RECORD, "remaps": [[3, 1765015200.5, 0.5]]}
    assert type(back["attachments"][0]["size"]) is int
    assert type(back["tat"]) is float


@pytest.mark.parametrize(
    ("written", "value"),
    [("100", 100), ("-7", -7), ("0", 0), ("3.0", 3.0), ("0.5", 0.5), ("1e3", 1000.0), ("1E-7", 1e-07)],
)
def test_a_number_is_an_int_when_written_whole_else_a_float(written: str, value: Any) -> None:
    read = table.from_attribute({"N": written})

    assert read == value
    assert type(read) is type(value)


def test_a_whole_number_beyond_a_floats_precision_keeps_every_digit() -> None:
    # A float holds 53 bits: the hand-written reader went through float() and gave back 9007199254740992.
    assert table.from_attribute({"N": "9007199254740993"}) == 9007199254740993


def test_nothing_is_converted_by_hand_the_serializers_are_boto3s() -> None:
    serializer, deserializer = table._converters()

    assert isinstance(serializer, TypeSerializer)
    assert isinstance(deserializer, TypeDeserializer)
