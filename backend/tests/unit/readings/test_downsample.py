import numpy as np

from dtwin.readings.downsample import lttb, minmax


def series(n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n, dtype=np.float64)
    v = np.sin(t / 50.0)
    v[1234] = 9.0  # a spike
    v[4321] = -7.0  # a dip
    return t, v


def test_lttb_keeps_the_shape_ends_and_spikes_within_the_budget() -> None:
    t, v = series(10_000)
    dt, dv = lttb(t, v, 500)
    assert len(dt) == 500
    assert dt[0] == 0 and dt[-1] == 9_999
    assert np.all(np.diff(dt) > 0)
    assert 9.0 in dv and -7.0 in dv  # the extremes shape the line: they are kept
    # the kept points follow the sine: interpolating them back stays close away from the spikes
    back = np.interp(t, dt, dv)
    calm = np.abs(t - 1234) > 30
    calm &= np.abs(t - 4321) > 30
    assert np.max(np.abs(back[calm] - v[calm])) < 0.1


def test_minmax_keeps_every_bucket_extreme() -> None:
    t, v = series(10_000)
    dt, dv = minmax(t, v, 400)
    assert len(dt) <= 400
    assert np.all(np.diff(dt) > 0)
    assert dv.max() == 9.0 and dv.min() == -7.0


def test_short_series_come_back_unchanged() -> None:
    t, v = np.arange(3.0), np.array([1.0, 2.0, 3.0])
    for f in (lttb, minmax):
        _, dv = f(t, v, 100)
        assert list(dv) == [1.0, 2.0, 3.0]
