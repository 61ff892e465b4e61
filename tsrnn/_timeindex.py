"""Time axes of series: regular timestamps or integer steps, future labels, seasonal periods, calendars."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Seasonal period by the base of a pandas frequency (the part before any "-" anchor).
_PERIODS = {
    "Y": 1, "YS": 1, "YE": 1, "A": 1, "AS": 1, "BY": 1, "BYS": 1, "BYE": 1,
    "Q": 4, "QS": 4, "QE": 4, "BQ": 4, "BQS": 4, "BQE": 4,
    "M": 12, "MS": 12, "ME": 12, "BM": 12, "BMS": 12, "BME": 12,
    "W": 52, "D": 7, "B": 5, "C": 5, "H": 24, "h": 24, "BH": 8, "bh": 8,
    "T": 60, "min": 60, "S": 60, "s": 60,
}  # fmt: skip

# Calendar features: name -> (what of the timestamp, its period).
CALENDAR = {
    "hour": ("hour", 24.0),
    "dayofweek": ("day_of_week", 7.0),
    "dayofyear": ("day_of_year", 365.25),
    "month": ("month", 12.0),
}

# Calendar features chosen for ``calendar_features=True``, by seasonal period of the frequency.
_AUTO_CALENDAR = {24: ("hour", "dayofweek"), 7: ("dayofweek", "dayofyear"), 5: ("dayofweek", "dayofyear"),
                  52: ("dayofyear",), 12: ("month",), 4: ("month",)}  # fmt: skip


@dataclass(frozen=True)
class TimeAxis:
    """The regular time axis of a fitted series: what the next labels are.

    ``freq`` is a pandas offset for timestamps and periods, ``step`` the spacing of integer
    labels.
    """

    kind: str
    last: object
    freq: pd.DateOffset | None = None
    step: int = 1

    def future(self, count: int, start: int = 1) -> pd.Index:
        """Labels of the steps ``start .. start + count - 1`` after the last one."""
        if self.kind == "integer":
            first = int(self.last) + start * self.step
            return pd.RangeIndex(first, first + count * self.step, self.step)
        if self.kind == "period":
            return pd.period_range(self.last + start, periods=count, freq=self.freq)
        # The series' resolution ("s", "ns"...): pandas 2 would otherwise give nanoseconds whatever it was.
        return pd.date_range(self.last + start * self.freq, periods=count, freq=self.freq, unit=self.last.unit)

    def steps_after_end(self, label: object) -> int:
        """How many steps after the last label ``label`` comes: 1 for the next step, 0 or less for the past.

        Raises ValueError if ``label`` is not on the axis.
        """
        if self.kind == "integer":
            distance, rest = divmod(int(label) - int(self.last), self.step)
        elif self.kind == "period":
            distance, rest = (pd.Period(label, freq=self.freq) - self.last).n, 0
        elif pd.Timestamp(label) <= self.last:
            distance, rest = 0, 0
        else:
            labels = pd.date_range(self.last, label, freq=self.freq)
            distance, rest = len(labels) - 1, int(labels[-1] != label)
        if rest:
            raise ValueError(f"{label!r} is not a step of the series' time axis ({self.describe()})")
        return int(distance)

    def describe(self) -> str:
        """Say what the frequency or step is, for messages."""
        return f"step {self.step}" if self.kind == "integer" else f"frequency {self.freq.freqstr}"

    @property
    def seasonal_period(self) -> int | None:
        """The usual seasonal period of the frequency (12 for monthly, 7 for daily, ...), or None."""
        if self.freq is None or self.freq.n != 1:
            return None
        base = self.freq.rule_code.split("-")[0]
        period = _PERIODS.get(base)
        return period if period and period > 1 else None

    @property
    def seasonal_lags(self) -> tuple[int, ...]:
        """Seasonal lags worth differencing at, longest first.

        Hourly data usually cycles by the week as well as by the day: a weekly difference
        (168) removes both, a daily one (24) is the fallback for short series.
        """
        period = self.seasonal_period
        if period is None:
            return ()
        return (7 * period, period) if period == _PERIODS["h"] else (period,)


def label(value: object) -> str:
    """Format a time label for messages: dates without a midnight time, other labels as they are."""
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tzinfo is None:
        return str(value.date())
    return str(value)


def _describe_zone(tz: object) -> str:
    return "naive (no time zone)" if tz is None else f"in time zone {tz}"


def check_time_zones(index: pd.Index, name: str) -> None:
    """Raise ValueError if ``index`` holds timestamps of several time zones, or naive and aware ones together.

    pandas keeps such timestamps in an object index, where comparing them fails with a bare
    TypeError; a DatetimeIndex always has one zone.

    Parameters
    ----------
    index : Index
        The labels to check.
    name : str
        What the index is called in the message ("y's index").
    """
    if index.dtype != object or index.inferred_type not in ("datetime", "datetime64"):
        return
    zones = {str(tz) if (tz := getattr(value, "tzinfo", None)) is not None else "naive" for value in index}
    if len(zones) > 1:
        raise ValueError(
            f"{name} mixes time zones ({', '.join(sorted(zones))}); put every timestamp in one zone, for example with "
            "pd.to_datetime(index, utc=True), which reads naive timestamps as UTC (tz_convert it afterwards)"
        )


def check_same_time_zone(index: pd.Index, reference: object, owner: str, what: str) -> None:
    """Raise ValueError if the timestamps of ``owner`` and those they must line up with differ in time zone.

    Parameters
    ----------
    index : Index
        The index of ``owner``, checked for mixed zones too.
    reference : object
        A timestamp or an index of the series ``owner`` must continue or align with; labels
        that are not timestamps (integer steps, periods) are left alone.
    owner : str
        The argument the index belongs to ("X", "y").
    what : str
        What ``reference`` is, for the message ("y's index", "the fitted series' index").
    """
    check_time_zones(index, f"{owner}'s index")
    if not isinstance(index, pd.DatetimeIndex) or not isinstance(reference, (pd.Timestamp, pd.DatetimeIndex)):
        return
    mine, theirs = index.tz, reference.tz
    if str(mine) == str(theirs):
        return
    if theirs is None:
        fix = f"{owner}.tz_localize(None) drops the zone, keeping the local times"
    elif mine is None:
        fix = f"{owner}.tz_localize({str(theirs)!r}) gives it that zone"
    else:
        fix = f"{owner}.tz_convert({str(theirs)!r}) converts it"
    raise ValueError(f"{owner}'s index is {_describe_zone(mine)}, but {what} is {_describe_zone(theirs)}; {fix}")


def infer_freq(index: pd.DatetimeIndex) -> pd.DateOffset | None:
    """Return the frequency pandas infers for the timestamps of ``index`` as an offset, or None if none fits."""
    with warnings.catch_warnings():
        # pandas 3 announces that infer_freq will return an offset; to_offset takes both.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            inferred = pd.infer_freq(index)
        except (TypeError, ValueError):
            return None
    return pd.tseries.frequencies.to_offset(inferred) if inferred else None


def _where_spacing_breaks(index: pd.DatetimeIndex, name: str) -> str:
    """Say where timestamps stop following the frequency of their first (or last) few steps."""
    for part in (index[:7], index[-7:], index[:3], index[-3:]):
        freq = infer_freq(part) if len(part) >= 3 else None
        if freq is None:
            continue
        expected = pd.date_range(index[0], periods=len(index), freq=freq)
        differs = np.flatnonzero(expected != index)
        if len(differs) and differs[0] > 0:
            at = int(differs[0])
            return (
                f"{name} is not evenly spaced at frequency {freq.freqstr}: {label(index[at - 1])} is followed by "
                f"{label(index[at])}, expected {label(expected[at])}. Add the missing steps and fill their values "
                f"(y.asfreq('{freq.freqstr}'), then tsrnn.preprocessing.fill_gaps) or fix the timestamps"
            )
    return (
        f"{name} is irregular: no frequency fits all its timestamps. Make them evenly spaced, for example with "
        "y.asfreq('MS') or y.resample('D').mean(), and fill the gaps it exposes"
    )


def time_axis(index: pd.Index, name: str = "y's index") -> TimeAxis:
    """Check that ``index`` is a regular, increasing time axis and describe it.

    Accepts a DatetimeIndex with a frequency (set, or one pandas can infer), a PeriodIndex, or
    integer labels with a constant positive step (a RangeIndex, or rows picked from one).
    Errors name ``name`` and the first place where the labels go wrong.
    """
    if len(index) == 0:
        raise ValueError(f"{name} is empty")
    check_time_zones(index, name)
    if index.has_duplicates:
        raise ValueError(
            f"{name} repeats {label(index[index.duplicated()][0])}; aggregate or drop the duplicates first"
        )
    if not index.is_monotonic_increasing:
        values = np.asarray(index)
        at = int(np.argmax(values[1:] < values[:-1])) + 1
        raise ValueError(
            f"{name} is not sorted: {label(index[at])} comes after {label(index[at - 1])}; sort by time first "
            "(for example with sort_index())"
        )
    if isinstance(index, pd.PeriodIndex):
        return TimeAxis("period", index[-1], freq=index.freq)
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (infer_freq(index) if len(index) >= 3 else None)
        if freq is None:
            raise ValueError(_where_spacing_breaks(index, name) if len(index) >= 3 else (
                f"{name} has too few timestamps ({len(index)}) to infer a frequency"))  # fmt: skip
        return TimeAxis("datetime", index[-1], freq=freq)
    if pd.api.types.is_integer_dtype(index.dtype):
        values = np.asarray(index, dtype=np.int64)
        steps = np.diff(values)
        step = int(steps[0]) if len(steps) else 1
        if len(steps) and (steps != step).any():
            at = int(np.argmax(steps != step))
            raise ValueError(
                f"{name} is not evenly spaced: {values[at]} is followed by {values[at + 1]}, "
                f"but the step is {step}; add the missing steps (and fill their values)"
            )
        return TimeAxis("integer", int(values[-1]), step=step)
    raise TypeError(
        f"{name} must be a DatetimeIndex with a regular frequency, a PeriodIndex or integer steps; "
        f"got {type(index).__name__}"
    )


def auto_calendar(axis: TimeAxis) -> tuple[str, ...]:
    """Calendar features that suit the axis' frequency (none for integer steps)."""
    if axis.kind == "integer":
        return ()
    return _AUTO_CALENDAR.get(axis.seasonal_period or 0, ())


def calendar_features(index: pd.Index, names: tuple[str, ...]) -> np.ndarray:
    """Sine and cosine of each named calendar position of ``index``; shape (n, 2 · len(names))."""
    if not names:
        return np.empty((len(index), 0))
    stamps = index.to_timestamp() if isinstance(index, pd.PeriodIndex) else index
    columns = []
    for name in names:
        attribute, period = CALENDAR[name]
        angle = 2 * np.pi * np.asarray(getattr(stamps, attribute), dtype=np.float64) / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1)
