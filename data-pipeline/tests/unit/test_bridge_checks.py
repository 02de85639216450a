import orjson

from dtwin.contracts.telemetry import Rejection
from dtwin_pipeline.bridge.service import check_message

GOOD = orjson.dumps(
    {
        "schema": 1,
        "machine_id": "pump-0001",
        "ts": "2026-11-23T10:00:00Z",
        "readings": {"temperature_c": 50.0},
    }
)


def test_valid_message_is_keyed_by_machine_with_site_and_line_headers() -> None:
    assert check_message("plant/site-1/line-2/pump-0001/telemetry", GOOD) == (
        "pump-0001",
        {"site": "site-1", "line": "line-2"},
    )


def test_machine_id_must_match_the_topic() -> None:
    r = check_message("plant/site-1/line-2/pump-0002/telemetry", GOOD)
    assert isinstance(r, Rejection)
    assert "does not match" in r.reason and r.machine_id == "pump-0002"


def test_unexpected_topic_and_bad_payload_are_rejected() -> None:
    assert isinstance(check_message("plant/x/telemetry", GOOD), Rejection)
    r = check_message("plant/s/l/pump-0001/telemetry", b"\xff\xfe garbage")
    assert isinstance(r, Rejection) and "not valid JSON" in r.reason
