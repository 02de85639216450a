"""Grouping narrow reading rows into instants (the wide layout's rows) and back."""

from datetime import UTC, datetime, timedelta

from dtwin.readings.wide import Instant, instants_of, reading_tuples

T0 = datetime(2026, 11, 23, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)


def test_rows_group_by_machine_and_instant_in_first_seen_order() -> None:
    rows = [
        ("m1", "a", T0, 1.0, "good"),
        ("m2", "a", T0, 5.0, "good"),
        ("m1", "b", T0, 2.0, "good"),
        ("m1", "a", T1, 3.0, "good"),
    ]
    assert instants_of(rows) == [
        Instant("m1", T0, "good", {"a": 1.0, "b": 2.0}),
        Instant("m2", T0, "good", {"a": 5.0}),
        Instant("m1", T1, "good", {"a": 3.0}),
    ]


def test_the_first_value_of_a_sensor_at_an_instant_stays() -> None:
    rows = [("m", "a", T0, 1.0, "good"), ("m", "a", T0, 9.0, "bad")]
    assert instants_of(rows) == [Instant("m", T0, "good", {"a": 1.0})]


def test_differing_qualities_are_kept_per_sensor() -> None:
    rows = [("m", "a", T0, 1.0, "good"), ("m", "b", T0, 2.0, "bad"), ("m", "c", T0, 3.0, "good")]
    [i] = instants_of(rows)
    assert i.quality == "good" and i.qualities == {"a": "good", "b": "bad", "c": "good"}
    assert reading_tuples([i]) == rows


def test_tuples_of_instants_carry_the_instants_quality_unless_a_sensor_differs() -> None:
    i = Instant("m", T0, "uncertain", {"a": 1.0, "b": 2.0}, {"b": "bad"})
    assert reading_tuples([i]) == [("m", "a", T0, 1.0, "uncertain"), ("m", "b", T0, 2.0, "bad")]
