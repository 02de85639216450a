"""scan.py's structure of arrays: gathering and scattering slots, through a slice when they are a run."""

from dataclasses import dataclass

import numpy as np
import pytest

from dtwin.anomalies.scan import F64, I64, SoA, consecutive


@pytest.mark.parametrize(
    ("idx", "size", "expected"),
    [
        ([3, 4, 5, 6], 10, slice(3, 7)),
        ([0, 1], 2, slice(0, 2)),
        ([3, 4, 6, 7], 10, None),  # a gap
        ([3, 5, 4, 6], 10, None),  # first and last fit, the order does not
        ([6, 5, 4, 3], 10, None),  # descending
        ([8, 9, 10], 10, None),  # past the arrays
        ([-2, -1, 0], 10, None),  # negative: wraps in np.take, not in a slice
        ([4], 10, None),  # too short to be worth it
        ([], 10, None),
    ],
)
def test_consecutive_is_a_slice_only_for_runs_inside_the_arrays(
    idx: list[int], size: int, expected: slice | None
) -> None:
    assert consecutive(np.array(idx, dtype=np.int64), size) == expected


def test_consecutive_refuses_masks_and_floats() -> None:
    assert consecutive(np.array([False, True]), 10) is None
    assert consecutive(np.array([1.0, 2.0, 3.0]), 10) is None


@dataclass
class Pair(SoA):
    a: F64
    b: F64


@pytest.mark.parametrize(
    "idx", [np.arange(2, 9), np.array([5, 1, 7, 2]), np.array([0, 1, 2, 4]), np.arange(0, 12)]
)
def test_take_and_put_match_index_arrays(idx: I64) -> None:
    rng = np.random.default_rng(0)
    state = Pair(rng.standard_normal(12), rng.standard_normal(12))
    got = state.take(idx)
    assert np.array_equal(got.a, state.a[idx]) and np.array_equal(got.b, state.b[idx])
    got.a[:] = 99.0  # a copy: the state is untouched
    assert not np.any(state.a == 99.0)
    n = int(idx.shape[0])
    new = Pair(rng.standard_normal(n), rng.standard_normal(n))
    expected_a, expected_b = state.a.copy(), state.b.copy()
    expected_a[idx], expected_b[idx] = new.a, new.b
    state.put(idx, new)
    assert np.array_equal(state.a, expected_a) and np.array_equal(state.b, expected_b)


def test_view_shares_a_run_of_slots_and_copies_other_slots() -> None:
    rng = np.random.default_rng(1)
    state = Pair(rng.standard_normal(12), rng.standard_normal(12))
    run = state.view(np.arange(3, 9))
    assert np.shares_memory(run.a, state.a) and np.array_equal(run.b, state.b[3:9])
    scattered = state.view(np.array([5, 1, 7]))
    assert not np.shares_memory(scattered.a, state.a) and np.array_equal(scattered.a, state.a[[5, 1, 7]])


@pytest.mark.parametrize("idx", [np.arange(2, 9), np.array([5, 1, 7, 2])])
def test_put_of_a_view_passed_through_writes_the_rest(idx: I64) -> None:
    rng = np.random.default_rng(2)
    state = Pair(rng.standard_normal(12), rng.standard_normal(12))
    pre = state.view(idx)
    new_b = rng.standard_normal(idx.shape[0])
    expected_a, expected_b = state.a.copy(), state.b.copy()
    expected_b[idx] = new_b
    state.put(idx, Pair(pre.a, new_b))  # `a` unchanged: the state's own view (of a run) or a copy
    assert np.array_equal(state.a, expected_a) and np.array_equal(state.b, expected_b)
