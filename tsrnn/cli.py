"""Command-line interface: forecast or backtest a CSV file, and list or export the bundled datasets.

Run ``tsrnn --help`` (or ``python -m tsrnn --help``) for the usage. With ``--id-col``,
``forecast`` and ``backtest`` read a file of many series in the long format (a row per series
and step, as ``tsrnn datasets tourism_quarterly`` writes) and train one global model on all
of them; the forecast CSV is long too, and the backtest reports each series. Every subcommand
returns 0 on success; bad input (a missing file or column, dates that do not parse, gaps or
irregular timestamps, a series too short for the horizon, a bad option value) ends with
status 2 and one line on stderr, ``tsrnn: error: <message>``. Ctrl-C ends with status 130:
training stopped after a finished epoch keeps the weights of the best one and still writes
the forecast (a backtest keeps the folds that finished), and the last line on stderr says
which outputs were written.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np
import pandas as pd

from tsrnn._panel import ID_COLUMN
from tsrnn._timeindex import infer_freq, label, time_axis
from tsrnn._validation import is_real_number

__all__ = ["main"]

PROG = "tsrnn"

# Status of bad input, as argparse uses for bad usage.
EXIT_USAGE = 2
# Status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A problem with the input or options, reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``tsrnn: error:`` line, like every other error."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error on one line of stderr and exit with status 2."""
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


# ------------------------------------------------------------------------------ option types


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1; got {text!r}")
    return value


def _coverage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, such as 0.9; got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, such as 0.9; got {text!r}")
    return value


def _separator(text: str) -> str:
    value = "\t" if text.lower() in ("tab", "\\t") else text
    if len(value) != 1 or value.isalnum() or value in '"\r\n':
        raise argparse.ArgumentTypeError(f"expected one character, such as ';' or tab; got {text!r}")
    return value


def _column_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated column names; got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a column is named twice in {text!r}")
    return names


# -------------------------------------------------------------------------------- reading

# Separators looked for when --sep is not given; on a tie the first wins.
_SEPARATORS = (",", ";", "\t")
# Lines read to detect the separator and the decimal mark.
_SNIFF_LINES = 50
# A cell such as 3,14 or -0,5e3: a number with a decimal comma.
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")
# A date such as 13/01/2020, 01.02.2020 or 1-2-20 (time of day allowed after it): its first two numbers.
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}(?!\d)")
# The UTC offset after a time of day (12:00+01:00, 12:00:00Z), as ISO 8601 writes it.
_UTC_OFFSET = re.compile(r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(Z|[+-]\d\d:?\d\d)\s*$")
# Whole numbers in this range, in a column of their own, are read as years.
_YEARS = (1000, 2999)
_FILL_METHODS = {"linear": "linear interpolation", "ffill": "the last value carried forward"}


@dataclass
class SeriesData:
    """A CSV file read as target series, with the covariates of its steps and of the steps to forecast.

    Attributes
    ----------
    y : Series or DataFrame
        The observed target (a DataFrame of several targets), indexed by the time column.
    X : DataFrame or None
        The covariates (``--exog``) of the observed steps.
    X_future : DataFrame or None
        The covariates of the steps after the last observation, the rows whose target cells are empty.
    notes : list of str
        What reading did that the user should know, such as the values ``fill`` filled.
    """

    y: pd.Series | pd.DataFrame
    X: pd.DataFrame | None
    X_future: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)

    @property
    def targets(self) -> str:
        """The target names, quoted, for messages."""
        names = [self.y.name] if isinstance(self.y, pd.Series) else list(self.y.columns)
        return ", ".join(repr(str(name)) for name in names)


def _sniff(file: Path, sep: str | None, decimal: str | None) -> tuple[str, str]:
    """Return the separator and the decimal mark of a CSV file: those given, else detected from its first lines.

    The separator is the candidate that splits every line into the same number of fields,
    the most; a decimal comma is recognised by cells such as ``3,14``, which only a
    separator other than the comma leaves whole.
    """
    with file.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(itertools.islice(handle, _SNIFF_LINES))
    if sep is None:
        sep, most = ",", 1
        for candidate in _SEPARATORS:
            widths = {len(row) for row in csv.reader(lines, delimiter=candidate) if row}
            if len(widths) == 1 and (width := widths.pop()) > most:
                sep, most = candidate, width
    if decimal is None:
        cells = (cell.strip() for row in list(csv.reader(lines, delimiter=sep))[1:] for cell in row)
        decimal = "," if sep != "," and any(_DECIMAL_COMMA.fullmatch(cell) for cell in cells) else "."
    return sep, decimal


def _date_order(column: pd.Series) -> str:
    """Say which comes first in dates such as 13/01/2020: "day", "month", "either", or "" for other forms.

    A first number above 12 can only be a day, and so can a second one (the month first);
    "either" where no number above 12 tells.
    """
    parts = column.astype(str).str.extract(_DAY_MONTH)
    if parts.isna().to_numpy().any():
        return ""
    if (parts[0].astype(int) > 12).any():
        return "day"
    return "month" if (parts[1].astype(int) > 12).any() else "either"


def _parse_dates(column: pd.Series, dayfirst: bool | None) -> tuple[pd.DatetimeIndex, str]:
    """Parse a column of date strings; return them and a hint for errors about them (on ambiguous dates).

    ``dayfirst`` only decides dates whose order the values leave open (see :func:`_date_order`);
    None reads those month first. Raises ValueError for any value that is not a date or is empty.
    """
    if column.isna().any():
        raise ValueError(f"row {int(np.argmax(column.isna().to_numpy())) + 1} is empty")
    order, hint = _date_order(column), ""
    if order == "either" and dayfirst is None:
        hint = f" (dates such as {column.iloc[0]!r} were read month first; pass --dayfirst if the day comes first)"
    # pandas would read even 1949-02-01 as 2 January under dayfirst: it applies to the open cases only.
    dayfirst = order == "day" or (order == "either" and bool(dayfirst))
    with warnings.catch_warnings():
        # pandas warns when it falls back to parsing each value on its own; a failure raises anyway.
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(column.copy(), errors="raise", dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError) as error:
            _check_one_offset(column)
            # pandas goes on with a paragraph of format advice; the first sentence says what failed.
            raise ValueError(str(error).split(". You might")[0]) from None
    if parsed.dtype == object:
        # pandas 2 returns mixed offsets as objects, with a warning, where pandas 3 raises.
        _check_one_offset(column)
    return pd.DatetimeIndex(parsed), hint


def _check_one_offset(column: pd.Series) -> None:
    """Raise ValueError if the timestamps of ``column`` carry more than one UTC offset (or some none)."""
    zones = _utc_offsets(column)
    if len(zones) > 1:
        # pandas' advice (utc=True) is not an option of the command; the file must be fixed.
        raise ValueError(
            f"its timestamps mix UTC offsets ({', '.join(sorted(zones))}); write them all with one offset, "
            "or all without"
        )


def _utc_offsets(column: pd.Series) -> set[str]:
    """Return the UTC offsets that end the timestamps of ``column`` ("Z", "+01:00"), "none" for those without."""
    offsets = column.astype(str).str.extract(_UTC_OFFSET)[0]
    return set(offsets.fillna("none"))


def _holds_years(frame: pd.DataFrame, name: str) -> bool:
    """Whether the column ``name`` reads as years: the first column or one named so, of distinct 4-digit integers."""
    column = frame[name]
    return (
        (name == frame.columns[0] or "year" in name.lower())
        and pd.api.types.is_integer_dtype(column.dtype)
        and bool(column.between(*_YEARS).all())
        and not column.duplicated().any()
    )


def _time_index(frame: pd.DataFrame, time_col: str | None, dayfirst: bool | None) -> tuple[str, pd.Index, str]:
    """Find (or check) the time column; return its name, its parsed labels and a hint for errors about them."""
    if time_col is not None:
        if time_col not in frame.columns:
            raise CommandError(f"no column {time_col!r} for --time-col; the columns are {list(frame.columns)}")
        column = frame[time_col]
        if pd.api.types.is_integer_dtype(column.dtype):
            # Whole numbers are read as integer steps (years, or 1, 2, 3, ...), not as nanoseconds.
            return time_col, pd.Index(column.to_numpy(), name=time_col), ""
        if is_real_number(column.dtype):
            raise CommandError(
                f"--time-col {time_col!r} holds decimal numbers; it must hold dates or whole-number steps"
            )
        try:
            dates, hint = _parse_dates(column, dayfirst)
        except (ValueError, TypeError, OverflowError) as error:
            raise CommandError(f"the time column {time_col!r} does not hold dates: {error}") from None
        return time_col, dates.rename(time_col), hint
    failures = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype):
            continue
        try:
            dates, hint = _parse_dates(column, dayfirst)
        except (ValueError, TypeError, OverflowError) as error:
            failures.append(f"{name!r} ({error})")
            continue
        return str(name), dates.rename(str(name)), hint
    for name in frame.columns:
        if _holds_years(frame, name):
            return name, pd.Index(frame[name].to_numpy(), name=name), ""
    tried = f"; tried {', '.join(failures)}" if failures else ""
    raise CommandError(
        f"found no column of dates or years{tried}. Name the time column with --time-col (whole-number steps work too)"
    )


def _regular_grid(index: pd.Index) -> tuple[pd.Index | None, str]:
    """Return the evenly spaced labels from the first to the last of ``index`` that include them all, and the step.

    The grid is None where no spacing fits every label; the step then says the spacing of the
    first steps and the first label off it, if such a spacing was found.
    """
    if not isinstance(index, pd.DatetimeIndex):
        values = np.asarray(index, dtype=np.int64)
        step = int(np.gcd.reduce(np.diff(values)))
        return pd.Index(np.arange(values[0], values[-1] + step, step), name=index.name), f"step {step}"
    parts = (index[:7], index[-7:], index[:3], index[-3:])
    # Where gaps come early and late, the commonest spacing still gives fixed frequencies (hours, days).
    spacings = [infer_freq(part) for part in parts] + [
        pd.tseries.frequencies.to_offset(index.to_series().diff().mode()[0])
    ]
    first = ""
    for freq in spacings:
        if freq is None:
            continue
        grid = pd.date_range(index[0], index[-1], freq=freq, name=index.name)
        on_grid = index.isin(grid)
        if on_grid.all():
            return grid, f"frequency {freq.freqstr}"
        first = first or f"{label(index[~on_grid][0])} is off the frequency {freq.freqstr} of its first steps"
    return None, first


def _complete_axis(index: pd.Index, name: str, hint: str) -> pd.Index:
    """Return the regular time axis that ``index`` lies on: ``index`` itself, or with the steps missing from it.

    Raises CommandError for repeated or unsorted labels, and for labels that are on no regular
    axis, or on one they would leave mostly empty.
    """
    try:
        time_axis(index, name)
        return index
    except (ValueError, TypeError) as error:
        if len(index) < 3 or index.has_duplicates or not index.is_monotonic_increasing:
            raise CommandError(f"{error}{hint}") from None
    grid, step = _regular_grid(index)
    if grid is None:
        at = step or "no frequency fits its timestamps"
        raise CommandError(f"{name} is irregular: {at}, even with steps missing; make it evenly spaced{hint}")
    if len(grid) > 2 * len(index):
        raise CommandError(
            f"{name} is mostly gaps at its {step}: {len(grid) - len(index)} of {len(grid)} steps are missing "
            f"from the file; check its timestamps{hint}"
        )
    return grid


def _numeric(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    column = frame[name]
    if is_real_number(column.dtype):
        values = column.astype(float)
        infinite = np.flatnonzero(np.isinf(values.to_numpy()))
        if len(infinite):
            # pandas reads "inf" as a number; --fill fills empty cells only.
            raise CommandError(
                f"the {role} column {name!r} holds {values.iloc[infinite[0]]:g} in row {infinite[0] + 1} after the "
                "header; write a number there, or empty the cell and pass --fill linear or --fill ffill"
            )
        return values
    if role == "covariate" and pd.api.types.is_bool_dtype(column.dtype):
        return column.astype(float)
    example = ""
    bad = pd.to_numeric(column.astype(object), errors="coerce").isna() & column.notna()
    if bad.any():
        example = f": {column[bad].iloc[0]!r} is not a number"
    raise CommandError(f"the {role} column {name!r} is not numeric{example}")


def _choose_targets(
    frame: pd.DataFrame, targets: list[str] | None, exog: list[str], time_col: str, id_col: str | None = None
) -> list[str]:
    if targets is not None:
        for target in targets:
            if target not in frame.columns:
                raise CommandError(f"no column {target!r} for --target; the columns are {list(frame.columns)}")
            if target == time_col:
                raise CommandError(f"--target {target!r} is the time column")
            if target == id_col:
                raise CommandError(f"--target {target!r} is the --id-col column")
            if target in exog:
                raise CommandError(f"--target {target!r} is also named in --exog")
        return targets
    candidates = [
        str(name)
        for name in frame.columns
        if name not in (time_col, id_col) and name not in exog and is_real_number(frame[name].dtype)
    ]
    if len(candidates) == 1:
        return candidates
    if not candidates:
        others = [str(name) for name in frame.columns if name not in (time_col, id_col) and name not in exog]
        if not others:
            raise CommandError(f"no column to forecast besides the time column {time_col!r} and the covariates")
        try:
            _numeric(frame, others[0], "target")
        except CommandError as error:
            raise CommandError(f"no numeric column to forecast ({error}); name the target with --target") from None
    raise CommandError(
        f"several numeric columns could be the target: {candidates}; name one with --target, or several (--target a,b)"
    )


def _gap_error(gaps: pd.DataFrame, labels: pd.Index, subject: str = "the series") -> str:
    """Say where the first of the gaps (True cells) of ``subject`` is, and how to fill them."""
    rows = np.flatnonzero(gaps.to_numpy().any(axis=1))
    at = gaps.index[rows[0]]
    if at in labels:
        where = f"where {str(gaps.columns[gaps.iloc[rows[0]].to_numpy()][0])!r} is empty"
    else:
        where = "a timestamp missing from the file"
    found = f"a gap at {label(at)}, " if len(rows) == 1 else f"gaps at {len(rows)} steps, the first at {label(at)}, "
    return f"{subject} has {found}{where}; fill gaps with --fill linear or --fill ffill"


def read_series(
    path: str,
    *,
    time_col: str | None = None,
    target: str | list[str] | None = None,
    exog: list[str] | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
    fill: str | None = None,
) -> SeriesData:
    """Read a CSV file as target series with optional covariates, checking its time axis.

    Parameters
    ----------
    path : str
        The CSV file, with a header row.
    time_col : str, optional
        The column of timestamps (or whole-number steps). Default: the first non-numeric
        column whose values all parse as dates, else the first column if it holds distinct
        4-digit whole numbers (or a column named like "year" that does), read as years.
    target : str or list of str, optional
        The column(s) to forecast. Default: the only numeric column that is neither the time
        column nor a covariate.
    exog : list of str, optional
        Covariate columns. Their values for the steps to forecast are the rows after the
        last observed target value, whose target cells are empty.
    sep : str, optional
        The field separator. Default: detected among ",", ";" and tab.
    decimal : {".", ","}, optional
        The decimal mark. Default: "," where the separator is not a comma and cells such as
        ``3,14`` appear, else ".".
    dayfirst : bool, optional
        Read dates such as 01/02/2020 day first. Default: day first where a first number above
        12 appears, else month first.
    fill : {"linear", "ffill"}, optional
        Fill gaps, the timestamps missing from a regular series and the empty target and
        covariate cells before the last observation, by linear interpolation or by carrying
        the last value forward; ``notes`` says how many values were filled. Default: gaps are
        an error.

    Returns
    -------
    SeriesData

    Raises
    ------
    CommandError
        If a column is missing or of the wrong kind, the timestamps are duplicated,
        unsorted or unevenly spaced, or values are missing (gaps) and ``fill`` is None, with
        a message that says where.
    FileNotFoundError
        If the file does not exist.
    """
    exog = list(exog or [])
    frame = _read_frame(path, sep, decimal)
    time_name, index, hint = _time_index(frame, time_col, dayfirst)
    missing = [name for name in exog if name not in frame.columns]
    if missing:
        raise CommandError(f"no column {missing[0]!r} for --exog; the columns are {list(frame.columns)}")
    if time_name in exog:
        raise CommandError(f"--exog names the time column {time_name!r}")
    targets = _choose_targets(frame, [target] if isinstance(target, str) else target, exog, time_name)
    axis = _complete_axis(index, f"the time column {time_name!r}", hint)

    y = pd.DataFrame({name: _numeric(frame, name, "target").to_numpy() for name in targets}, index=index)
    covariates = pd.DataFrame({name: _numeric(frame, name, "covariate").to_numpy() for name in exog}, index=index)
    data, filled = _observe(y, covariates, axis, fill, hint)
    if fill is not None:
        counts, added = filled
        listed = ", ".join(f"{n} of {name!r}" for name, n in counts.items() if n)
        new = f"; {added} timestamp(s) missing from the file were added" if added else ""
        data.notes.append(
            f"--fill {fill} filled {int(counts.sum())} missing value(s) ({listed}) by {_FILL_METHODS[fill]}{new}"
            if listed
            else f"--fill {fill}: the series has no gaps to fill"
        )
    return data


def _read_frame(path: str, sep: str | None, decimal: str | None) -> pd.DataFrame:
    """Read the CSV file ``path`` with the separator and decimal mark given or detected; column names as str.

    Raises FileNotFoundError for a missing file, CommandError for one that is no CSV of several columns.
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not file.is_file():
        raise CommandError(f"{path} is not a file")
    try:
        sep, decimal = _sniff(file, sep, decimal)
        frame = pd.read_csv(file, sep=sep, decimal=decimal, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None
    except pd.errors.ParserError as error:
        raise CommandError(f"cannot read {path} as CSV: {error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"cannot read {path} as CSV: it is not UTF-8 text") from None
    if frame.empty:
        raise CommandError(f"{path} has a header but no rows")
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) == 1:
        raise CommandError(
            f"{path} reads as a single column, {frame.columns[0]!r}, with the separator {sep!r}; "
            "name the right one with --sep"
        )
    return frame


def _observe(
    y: pd.DataFrame,
    covariates: pd.DataFrame,
    axis: pd.Index,
    fill: str | None,
    hint: str,
    subject: str | None = None,
) -> tuple[SeriesData, tuple[pd.Series, int]]:
    """Put a series' targets and covariates on its regular time axis and split off the future covariates.

    Parameters
    ----------
    y : DataFrame of shape (n, n_targets)
        The target columns, on the file's labels.
    covariates : DataFrame of shape (n, k)
        The covariate columns, on the same labels; k may be 0.
    axis : Index
        The regular axis that the labels lie on (:func:`_complete_axis`).
    fill : {"linear", "ffill"} or None
        Fill the gaps before the last observation, else raise CommandError for them.
    hint : str
        Appended to errors about the gaps (ambiguous dates).
    subject : str, optional
        The series in messages, such as "series 'Q1'"; None for the file's only series.

    Returns
    -------
    SeriesData
        Without notes.
    (Series, int)
        The values filled per column and the timestamps added before the last observation.
    """
    from tsrnn.preprocessing import fill_gaps

    targets, exog = list(y.columns), list(covariates.columns)
    index = y.index
    y, covariates = y.reindex(axis), covariates.reindex(axis)
    observed = np.flatnonzero(y.notna().to_numpy().any(axis=1))
    if not len(observed):
        if subject is None:
            raise CommandError(f"the target column(s) {', '.join(map(repr, targets))} have no values")
        raise CommandError(f"{subject} has no values in the target column {targets[0]!r}; drop its rows")
    end = int(observed[-1]) + 1
    if end < len(y) and not exog:
        of = "" if subject is None else f" of {subject}"
        raise CommandError(
            f"the last {len(y) - end} row(s){of}, from {label(axis[end])}, have no target value; rows after the last "
            "observation are read only as the future covariates of --exog. Remove them, or name the covariates "
            "with --exog"
        )
    past = pd.concat([y.iloc[:end], covariates.iloc[:end]], axis=1)
    gaps = past.isna()
    counts, added = gaps.sum(), int((~axis[:end].isin(index)).sum())
    if fill is not None:
        past = fill_gaps(past, fill)
    elif gaps.to_numpy().any():
        raise CommandError(f"{_gap_error(gaps, index, subject or 'the series')}{hint}")

    observed_y = past[targets].squeeze(axis=1) if len(targets) == 1 else past[targets]
    if not exog:
        return SeriesData(observed_y, None, None), (counts, added)
    return SeriesData(observed_y, past[exog], covariates.iloc[end:]), (counts, added)


@dataclass
class CollectionData:
    """A CSV file in the long format read as many series, each as :class:`SeriesData`, for one global model.

    Attributes
    ----------
    series : dict
        Each series' id (as read from the id column) mapped to its data, in the order of
        their first rows.
    columns : Columns
        The names of the id, time and target columns.
    exog : list of str
        The covariate columns (``--exog``).
    notes : list of str
        What reading did that the user should know, such as the values ``fill`` filled.
    """

    series: dict[Any, SeriesData]
    columns: Any
    exog: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def lengths(self) -> dict[Any, int]:
        """Each series' number of observed steps."""
        return {uid: len(data.y) for uid, data in self.series.items()}

    def long(self) -> pd.DataFrame:
        """Return the observations as a long frame of shape (n_rows, 3 + k): id, time, target and covariate columns."""
        frames = []
        for uid, data in self.series.items():
            frame = pd.DataFrame({self.columns.target: data.y.to_numpy(dtype=float)}, index=data.y.index)
            if data.X is not None:
                frame = frame.join(data.X)
            frame.insert(0, self.columns.time, data.y.index)
            frame.insert(0, self.columns.id, uid)
            frames.append(frame.reset_index(drop=True))
        return pd.concat(frames, ignore_index=True)

    def future(self, horizon: int) -> pd.DataFrame | None:
        """Return the covariates of each series' ``horizon`` steps to forecast as a long frame (None without any).

        Raises CommandError naming the first series whose file rows lack them.
        """
        if not self.exog:
            return None
        frames = []
        for uid, data in self.series.items():
            try:
                future = _future_covariates(data, horizon)
            except CommandError as error:
                raise CommandError(f"series {uid!r}: {error}") from None
            assert future is not None
            frame = future.reset_index(drop=True)
            frame.insert(0, self.columns.time, future.index)
            frame.insert(0, self.columns.id, uid)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def read_collection_csv(
    path: str,
    *,
    id_col: str,
    time_col: str | None = None,
    target: str | list[str] | None = None,
    exog: list[str] | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    dayfirst: bool | None = None,
    fill: str | None = None,
) -> CollectionData:
    """Read a CSV file in the long format, a row per series and step, as many series for one global model.

    Parameters
    ----------
    path : str
        The CSV file, with a header row.
    id_col : str
        The column of series ids.
    time_col, target, exog, sep, decimal, dayfirst, fill
        As for :func:`read_series`, applied to each series on its own: the time column is
        found among the columns other than ``id_col``, one target column is read, and each
        series' rows are sorted by time, checked for regular steps and gaps (filled by
        ``fill``), with the future covariates of ``exog`` in its rows after its last target
        value. All series share one target and one set of covariates.

    Returns
    -------
    CollectionData

    Raises
    ------
    CommandError
        If a column is missing or of the wrong kind, an id is empty, a series repeats a
        timestamp, is unevenly spaced or has gaps (and ``fill`` is None), naming the series.
    FileNotFoundError
        If the file does not exist.
    """
    from tsrnn._panel import Columns

    exog = list(exog or [])
    frame = _read_frame(path, sep, decimal)
    if id_col not in frame.columns:
        raise CommandError(
            f"no column {id_col!r} for --id-col; the columns are {list(frame.columns)}. Name the column of series "
            "ids, or leave --id-col out for a file of one series"
        )
    if frame[id_col].isna().any():
        row = int(np.argmax(frame[id_col].isna().to_numpy())) + 1
        raise CommandError(
            f"the --id-col column {id_col!r} is empty in row {row} after the header; give every row its series' id"
        )
    if time_col == id_col:
        raise CommandError(f"--time-col and --id-col both name {id_col!r}; the time column is another")
    # The ids are no time column, even when they are whole numbers.
    time_name, index, hint = _time_index(frame if time_col else frame.drop(columns=[id_col]), time_col, dayfirst)
    missing = [name for name in exog if name not in frame.columns]
    if missing:
        raise CommandError(f"no column {missing[0]!r} for --exog; the columns are {list(frame.columns)}")
    if time_name in exog:
        raise CommandError(f"--exog names the time column {time_name!r}")
    if id_col in exog:
        raise CommandError(f"--exog names the --id-col column {id_col!r}")
    targets = _choose_targets(frame, [target] if isinstance(target, str) else target, exog, time_name, id_col)
    if len(targets) > 1:
        raise CommandError(
            f"a file of many series (--id-col) is read with one --target column; got {len(targets)}: {targets}. "
            "Forecast them one at a time"
        )
    (target_name,) = targets
    values = _numeric(frame, target_name, "target").to_numpy()
    covariates = {name: _numeric(frame, name, "covariate").to_numpy() for name in exog}
    data = CollectionData({}, Columns(id_col, time_name, target_name), exog)
    filled: dict[Any, int] = {}
    added = 0
    codes, uniques = pd.factorize(frame[id_col], sort=False)
    # The series in the order of their first rows; each one's rows in file order.
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniques)))])
    for i, found in enumerate(uniques):
        uid = found.item() if isinstance(found, np.generic) else found
        rows = order[bounds[i] : bounds[i + 1]]
        # In time order; the rows of one step stay in file order, for the error about the repeat.
        rows = rows[index[rows].argsort(kind="stable")]
        labels = index[rows]
        subject = f"series {uid!r}"
        axis = _complete_axis(labels, f"{subject}'s time column {time_name!r}", hint)
        y = pd.DataFrame({target_name: values[rows]}, index=labels)
        X = pd.DataFrame({name: column[rows] for name, column in covariates.items()}, index=labels)
        data.series[uid], (counts, new) = _observe(y, X, axis, fill, hint, subject)
        if int(counts.sum()):
            filled[uid] = int(counts.sum())
        added += new
    if fill is not None:
        named = ", ".join(map(repr, list(filled)[:5])) + (f" and {len(filled) - 5} more" if len(filled) > 5 else "")
        new_steps = f"; {added} timestamp(s) missing from the file were added" if added else ""
        data.notes.append(
            f"--fill {fill} filled {sum(filled.values())} missing value(s) in {len(filled)} series ({named}) by "
            f"{_FILL_METHODS[fill]}{new_steps}"
            if filled
            else f"--fill {fill}: the series have no gaps to fill"
        )
    return data


def _future_covariates(data: SeriesData, horizon: int) -> pd.DataFrame | None:
    """Take the covariates of the ``horizon`` steps to forecast from the rows after the last observation."""
    if data.X_future is None:
        return None
    future = data.X_future
    if len(future) < horizon:
        raise CommandError(
            f"--exog needs the covariates of the {horizon} step(s) to forecast: rows after the last "
            f"{data.targets} value ({label(data.y.index[-1])}) with the target empty and the covariates filled "
            f"in; the file has {len(future) or 'none'}"
        )
    future = future.iloc[:horizon]
    for name in future.columns:
        empty = np.flatnonzero(future[name].isna().to_numpy())
        if len(empty):
            raise CommandError(
                f"the covariate {name!r} is empty at {label(future.index[empty[0]])}, a step to forecast; fill it in"
            )
    return future


# ------------------------------------------------------------------------------ reporting


def _in_command_terms(message: Warning | str, category: type[Warning], args: argparse.Namespace) -> str:
    """Say a warning in the command's options rather than in the estimator's parameters."""
    from sklearn.exceptions import ConvergenceWarning

    if issubclass(category, ConvergenceWarning):
        # The command always trains with early stopping, so raising the cap is all there is to do.
        return (
            f"the validation loss was still improving when --max-epochs {args.max_epochs} ended training; "
            "raise --max-epochs (early stopping still ends training once it stops improving)"
        )
    return " ".join(str(message).split())


@dataclass
class _RunState:
    """What a command did that its ending must report: a Ctrl-C that cut training short, the outputs written."""

    interrupted: bool = False
    written: list[str] = field(default_factory=list)

    def outputs(self) -> str:
        return f"wrote {' and '.join(self.written)}" if self.written else "no output was written"


@contextmanager
def _reporting(args: argparse.Namespace, state: _RunState) -> Iterator[None]:
    """Show each distinct warning as one line on stderr, in the command's terms, or none under ``--quiet``.

    Training or a backtest that Ctrl-C cut short (a TrainingInterruptedWarning: the model or
    the folds that finished are kept) is recorded in ``state``.
    """
    from tsrnn.training import TrainingInterruptedWarning

    shown: set[str] = set()

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, TrainingInterruptedWarning):
            state.interrupted = True
        text = _in_command_terms(message, category, args)
        # The calibration model repeats the main model's warnings; once is enough.
        if text not in shown and not args.quiet:
            shown.add(text)
            print(f"{PROG}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        # Every interruption must reach `show`, under --quiet too.
        warnings.simplefilter("always", TrainingInterruptedWarning)
        warnings.showwarning = show
        yield


def _note(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _write_csv(frame: pd.DataFrame, output: str | None, state: _RunState, what: str, *, index: bool = False) -> None:
    """Write ``frame`` (``what`` it is, for the report) as CSV to the file ``output``, or to stdout when it is None."""
    if output is None:
        frame.to_csv(sys.stdout, index=index, lineterminator="\n")
        sys.stdout.flush()
    else:
        frame.to_csv(output, index=index, lineterminator="\n")
    state.written.append(f"{what} to {output or 'stdout'}")


# ------------------------------------------------------------------------------- commands


def _forecaster(args: argparse.Namespace, calibration_size: int | None = None, columns: Any = None) -> Any:
    from tsrnn.forecaster import RNNForecaster

    # A file of many series names its columns; one series is read into a Series, without them.
    names = {} if columns is None else {
        "id_column": columns.id, "time_column": columns.time, "target_column": columns.target
    }  # fmt: skip
    return RNNForecaster(
        **names,
        horizon=args.horizon,
        window=args.window,
        strategy=args.strategy,
        transform=args.transform,
        cell=args.cell,
        loss=args.loss,
        quantile=args.quantile,
        max_epochs=args.max_epochs,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        calibration_size=calibration_size,
    )


def _read_args(args: argparse.Namespace) -> Any:
    """Read the file the arguments name: one series (SeriesData), or many with ``--id-col`` (CollectionData)."""
    options = {"time_col": args.time_col, "target": args.target, "exog": args.exog, "sep": args.sep,
               "decimal": args.decimal, "dayfirst": args.dayfirst or None, "fill": args.fill}  # fmt: skip
    if args.id_col is None:
        data = read_series(args.data, **options)
    else:
        data = read_collection_csv(args.data, id_col=args.id_col, **options)
    for note in data.notes:
        _note(args, note)
    return data


def _calibration_size(horizon: int, n: int) -> int:
    return max(3 * horizon, int(0.2 * n))


def _check_calibration(horizon: int, n: int, coverage: float) -> int:
    """Return the calibration size for intervals of ``coverage``, or say why the series is too short for them.

    Checked before training, so that the error does not come after minutes of it.
    """
    size = _calibration_size(horizon, n)
    if size >= n:
        raise CommandError(
            f"--coverage holds out the last {size} steps to calibrate the intervals, but the series has only {n}"
        )
    from tsrnn.forecaster import conformal_rank

    origins = size - horizon + 1
    if conformal_rank(origins, coverage) > origins:
        raise CommandError(
            f"--coverage {coverage:g} needs more calibration forecasts than the {origins} from the last {size} steps; "
            "lower --coverage, or use a longer series"
        )
    return size


def _check_output(path: str | None, option: str) -> None:
    """Fail before training, rather than after it, when an output file cannot be written where asked."""
    if path is None:
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise CommandError(f"{option} {path}: the folder {str(folder)!r} does not exist")
    if Path(path).is_dir():
        raise CommandError(f"{option} {path} is a folder; give a file name")


def _fit(model: Any, data: SeriesData) -> None:
    try:
        if data.X is None:
            model.fit(data.y)
        else:
            model.fit(data.X, data.y)
    except ValueError as error:
        # The forecaster speaks of `y` and `X`; say which column and file they are.
        raise CommandError(f"cannot train on the {len(data.y)} steps of {data.targets}: {error}") from None


def _load_forecaster(args: argparse.Namespace) -> Any:
    """Load the trained forecaster of ``--load``; raise CommandError for a file that holds none."""
    from tsrnn.forecaster import RNNForecaster
    from tsrnn.persistence import load

    if not Path(args.load).is_file():
        raise CommandError(f"--load {args.load}: no such file")
    model = load(args.load)
    if not isinstance(model, RNNForecaster) or not hasattr(model, "network_"):
        raise CommandError(f"--load {args.load} holds no trained forecaster; save one with tsrnn forecast --save")
    if args.coverage is not None and model.calibration_residuals_ is None:
        raise CommandError(f"--coverage needs a model trained with --coverage; {args.load} was saved without intervals")
    return model


def _loaded_covariates(args: argparse.Namespace, model: Any, source: str) -> list[str]:
    """Return the covariate names of a loaded model; raise CommandError where ``--exog`` names others."""
    # A model fitted without covariates has no feature_names_in_; one fitted on an array has no names.
    covariates = [str(name) for name in getattr(model, "feature_names_in_", [])]
    if getattr(model, "n_features_in_", 0) and not covariates:
        raise CommandError(
            f"{source} takes {model.n_features_in_} unnamed covariate(s), fitted from an array; tsrnn forecast "
            "reads covariates by column name: fit it on a DataFrame"
        )
    if args.exog and args.exog != covariates:
        fix = f"takes the covariates {covariates}" if covariates else "was trained without covariates"
        fix += f"; --exog names {args.exog}: " + (
            f"name them with --exog {','.join(covariates)} or leave --exog out" if covariates else "leave --exog out"
        )
        raise CommandError(f"{source} {fix}")
    return covariates


def _loaded(args: argparse.Namespace) -> tuple[Any, SeriesData]:
    """Load the model of ``--load`` and update it, without training, with the observations of the data after its end."""
    model = _load_forecaster(args)
    if hasattr(model, "series_ids_"):
        raise CommandError(
            f"--load {args.load} holds a model of {len(model.series_ids_)} series; read {args.data} as many series "
            f"in the long format: name its id column with --id-col (the model's is {model.id_column!r})"
        )
    source = f"the model of {args.load}"
    covariates = _loaded_covariates(args, model, source)
    # By default the file is read for the columns the model was trained on.
    args.target = args.target or list(model.target_names_)
    args.exog = covariates
    data = _read_args(args)
    y, axis = data.y, model.axis_
    names = [str(y.name)] if isinstance(y, pd.Series) else [str(name) for name in y.columns]
    if names != list(model.target_names_):
        raise CommandError(f"{source} forecasts {model.target_names_}; the targets read are {names}")
    ends = f"the series {source} was trained on ends at {label(axis.last)}"
    new_axis = time_axis(y.index)
    same_zone = str(getattr(y.index, "tz", None)) == str(getattr(axis.last, "tz", None))
    if (new_axis.kind, new_axis.freq, new_axis.step) != (axis.kind, axis.freq, axis.step) or not same_zone:
        raise CommandError(f"{args.data} is a series at {new_axis.describe()}, but {ends}, at {axis.describe()}")
    start = axis.steps_after_end(y.index[0])
    if start > 1:
        raise CommandError(
            f"{args.data} starts at {label(y.index[0])}, {start - 1} step(s) after the end of the series "
            f"{source} was trained on ({label(axis.last)}); it must continue that series: include the steps from "
            f"{label(axis.future(1)[0])}"
        )
    if axis.steps_after_end(y.index[-1]) < 1 and y.index[-1] != axis.last:
        raise CommandError(
            f"{args.data} ends at {label(y.index[-1])}, but {ends}: give the series up to that end or later"
        )
    first_new = 0 if start == 1 else int(y.index.get_loc(axis.last)) + 1
    new, count = slice(first_new, None), len(y) - first_new
    if count:
        model.update(None if data.X is None else data.X.iloc[new], y.iloc[new])
    updated = f"updated with {count} new observation(s) to {label(y.index[-1])}" if count else "no new observations"
    _note(args, f"loaded {args.load}, trained on a series ending at {label(axis.last)}; {updated}, without training")
    return model, data


def _default_id_column(args: argparse.Namespace) -> None:
    """Read a file with a ``unique_id`` column, the long format's usual id column, as many series.

    Without it, the file's steps repeat once per series, and the time column would be refused
    for that; an explicit ``--id-col`` names any other column.
    """
    if args.id_col is not None:
        return
    file = Path(args.data)
    if not file.is_file():
        return  # reading the file says what is wrong with it
    try:
        sep, _ = _sniff(file, args.sep, args.decimal)
        header = pd.read_csv(file, sep=sep, nrows=0, encoding="utf-8-sig").columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return
    if ID_COLUMN in map(str, header) and ID_COLUMN not in (args.target or []):
        args.id_col = ID_COLUMN
        _note(args, f"read as many series: one per {ID_COLUMN!r} (--id-col {ID_COLUMN})")


def _forecast(args: argparse.Namespace, state: _RunState) -> int:
    _check_output(args.output, "-o")
    _check_output(args.plot, "--plot")
    _check_output(args.save, "--save")
    _default_id_column(args)
    if args.id_col is not None:
        return _forecast_collection(args, state)
    if args.load is not None:
        model, data = _loaded(args)
        y, h = data.y, args.horizon or model.horizon
        future = _future_covariates(data, h)
    elif args.horizon is None:
        raise CommandError("the following arguments are required: --horizon (or --load, a model saved by --save)")
    else:
        data = _read_args(args)
        y, h = data.y, args.horizon
        future = _future_covariates(data, h)
        calibration = _check_calibration(h, len(y), args.coverage) if args.coverage is not None else None
        model = _forecaster(args, calibration)
        _fit(model, data)
        # The command trains with early stopping, which keeps the weights of the best validation epoch.
        _note(args, _summary(model))
    if args.save is not None:
        model.save(args.save)
        state.written.append(f"the model to {args.save}")
    steps = None if future is not None else h
    names = [str(y.name)] if isinstance(y, pd.Series) else [str(name) for name in y.columns]
    # One frame per target, with the columns forecast[, lower_<pct>, upper_<pct>].
    if args.coverage is None:
        point = pd.DataFrame(model.predict(future, horizon=steps))
        frames = {name: pd.DataFrame({"forecast": point[name].astype(float)}) for name in names}
    else:
        result = model.predict_interval(future, horizon=steps, coverage=args.coverage)
        frames = {names[0]: result} if len(names) == 1 else {name: result[name] for name in names}
    tables = []
    for name, frame in frames.items():
        table = frame.reset_index(drop=True)
        table.insert(0, "timestamp", frame.index)
        if len(frames) > 1:
            table.insert(1, "target", name)
        tables.append(table)
    # The forecast first: it is what a Ctrl-C during the drawing should still leave behind.
    _write_csv(pd.concat(tables, ignore_index=True), args.output, state, "the forecast")
    if args.plot:
        _plot(y, frames, args.plot, model, h)
        state.written.append(f"the plot to {args.plot}")
    return 0


def _plot(y: pd.Series | pd.DataFrame, forecasts: dict[str, pd.DataFrame], path: str, model: Any, horizon: int) -> None:
    try:
        import matplotlib
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install 'tsrnn[plot]'") from None
    # A file is wanted, not a window: Agg draws without a display (on servers, in CI).
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsrnn.plotting import plot_forecast

    # Enough history to see the seasonal pattern the forecast continues, without squeezing it.
    history = max(10 * horizon, 4 * (model.seasonal_period_ or 1))
    figure, axes = plt.subplots(
        len(forecasts), 1, figsize=(10, 4 * len(forecasts)), squeeze=False, layout="constrained"
    )
    try:
        for ax, (name, forecast) in zip(axes[:, 0], forecasts.items(), strict=True):
            plot_forecast(y if isinstance(y, pd.Series) else y[name], forecast, ax=ax, history=history)
            ax.set_title(f"{name}: {horizon}-step forecast")
        figure.savefig(path, dpi=100, bbox_inches="tight", format="png")
    finally:
        plt.close(figure)


def _backtest(args: argparse.Namespace, state: _RunState) -> int:
    from tsrnn.model_selection import backtest

    _check_output(args.output, "-o")
    _default_id_column(args)
    if args.id_col is not None:
        return _backtest_collection(args, state)
    if args.target is not None and len(args.target) > 1:
        raise CommandError(f"backtest evaluates one --target at a time; got {len(args.target)}: {args.target}")
    data = _read_args(args)
    y, h, folds = data.y, args.horizon, args.folds
    initial = len(y) - folds * h
    if initial < 1:
        raise CommandError(
            f"{folds} fold(s) of {h} step(s) need more than {folds * h} observations to train on; "
            f"the series has {len(y)}. Use fewer --folds or a shorter --horizon"
        )
    calibration = _check_calibration(h, initial, args.coverage) if args.coverage is not None else None
    model = _forecaster(args, calibration)
    result = backtest(model, y, data.X, cv=(initial, h, h), refit=True, coverage=args.coverage)
    print(result.metrics.to_string(float_format=lambda value: f"{value:.3f}"), flush=True)
    state.written.append("the metrics to stdout")
    if args.output:
        _write_csv(result.forecasts, args.output, state, "the forecasts")
    return 0


# ------------------------------------------------------------------------ many series (--id-col)

_NO_INTERVALS = (
    "--coverage gives prediction intervals of one series; with --id-col the command forecasts points "
    "(in Python, RNNForecaster(calibration_size=...).predict_interval covers a collection): leave --coverage "
    "out, or forecast the series one file at a time"
)
# Series drawn by --plot, the first of the file.
_PLOTTED_SERIES = 6


def _fit_collection(model: Any, data: CollectionData) -> None:
    try:
        model.fit(data.long())
    except ValueError as error:
        # The forecaster speaks of its parameters; say which series and column they are.
        what = f"the {len(data.series)} series of {data.columns.target!r}"
        raise CommandError(f"cannot train on {what}: {error}") from None


def _summary(model: Any, series: str = "") -> str:
    """Say how many epochs trained, which was kept and how the series were read, for the line after training."""
    # The differencing lag is said apart from the period: hourly data is differenced by the week (168), not 24.
    lags = model.differencing_lags_
    differenced = (
        f"differenced at lag{'s' if len(lags) > 1 else ''} {', '.join(map(str, lags))}" if lags else "not differenced"
    )
    return (
        f"trained {model.n_iter_} epoch(s){series}, kept epoch {model.best_epoch_} (the lowest validation loss); "
        f"window {model.window_} steps, {differenced}, seasonal period {model.seasonal_period_ or 'none'}"
    )


def _forecast_collection(args: argparse.Namespace, state: _RunState) -> int:
    """Train one global model on the series of a long CSV file (or load one) and write their forecasts, long."""
    if args.coverage is not None:
        raise CommandError(_NO_INTERVALS)
    if args.load is not None:
        model, data, forecast = _loaded_collection(args)
        h = args.horizon or model.horizon
    elif args.horizon is None:
        raise CommandError("the following arguments are required: --horizon (or --load, a model saved by --save)")
    else:
        data, h = _read_args(args), args.horizon
        future = data.future(h)
        model = _forecaster(args, None, data.columns)
        _fit_collection(model, data)
        _note(args, _summary(model, f" on {len(data.series)} series"))
        forecast = model.predict(future, horizon=h)
    if args.save is not None:
        model.save(args.save)
        state.written.append(f"the model to {args.save}")
    _write_csv(forecast, args.output, state, "the forecast")
    if args.plot:
        _plot_collection(data, forecast, args.plot, model, h)
        state.written.append(f"the plot to {args.plot}")
    return 0


def _loaded_collection(args: argparse.Namespace) -> tuple[Any, CollectionData, pd.DataFrame]:
    """Forecast the series of the data with the model of ``--load``, from their history, without training."""
    model = _load_forecaster(args)
    source = f"the model of {args.load}"
    if not hasattr(model, "series_ids_"):
        raise CommandError(
            f"{source} forecasts one series; --id-col reads {args.data} as many: leave --id-col out, or train a "
            "model of many series with tsrnn forecast --id-col"
        )
    args.exog = _loaded_covariates(args, model, source)
    # By default the file is read for the target the model was trained on.
    args.target = args.target or list(model.target_names_)
    data = _read_args(args)
    h = args.horizon or model.horizon
    # The model reads its own column names; the forecast is written with the file's.
    names = {data.columns.id: model.id_column, data.columns.time: model.time_column,
             data.columns.target: model.target_column}  # fmt: skip
    future = data.future(h)
    try:
        forecast = model.predict(
            None if future is None else future.rename(columns=names), horizon=h, y=data.long().rename(columns=names)
        )
    except ValueError as error:
        raise CommandError(f"{source} cannot forecast the series of {args.data}: {error}") from None
    _note(
        args,
        f"loaded {args.load}, trained on {len(model.series_ids_)} series; forecast the {len(data.series)} series of "
        f"{args.data} from their history, without training",
    )
    return model, data, forecast.rename(columns={new: old for old, new in names.items()})


def _plot_collection(data: CollectionData, forecast: pd.DataFrame, path: str, model: Any, horizon: int) -> None:
    try:
        import matplotlib
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install 'tsrnn[plot]'") from None
    # A file is wanted, not a window: Agg draws without a display (on servers, in CI).
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tsrnn.plotting import plot_collection

    columns = data.columns
    figure = plot_collection(
        data.long(),
        forecast,
        max_series=_PLOTTED_SERIES,
        # As for one series: enough history to see the season the forecast continues.
        history=max(10 * horizon, 4 * (model.seasonal_period_ or 1)),
        id_column=columns.id,
        time_column=columns.time,
        target_column=columns.target,
    )
    try:
        shown = min(_PLOTTED_SERIES, len(data.series))
        figure.suptitle(f"{horizon}-step forecasts: the first {shown} of {len(data.series)} series")
        figure.savefig(path, dpi=100, bbox_inches="tight", format="png")
    finally:
        plt.close(figure)


def _backtest_collection(args: argparse.Namespace, state: _RunState) -> int:
    """Backtest one global model on the last --folds blocks of every series of a long CSV file."""
    from tsrnn.model_selection import backtest, windows_from_end

    if args.coverage is not None:
        raise CommandError(_NO_INTERVALS)
    data = _read_args(args)
    h, folds = args.horizon, args.folds
    lengths = data.lengths
    shortest = min(lengths, key=lengths.__getitem__)
    if lengths[shortest] - folds * h < 1:
        raise CommandError(
            f"{folds} fold(s) of {h} step(s) need more than {folds * h} observations of every series to train on; "
            f"series {shortest!r}, the shortest, has {lengths[shortest]}. Use fewer --folds or a shorter --horizon, "
            "or drop the series"
        )
    model = _forecaster(args, None, data.columns)
    result = backtest(model, data.long(), cv=windows_from_end(h, n_windows=folds))
    print(result.metrics.to_string(float_format=lambda value: f"{value:.3f}"), flush=True)
    state.written.append("the metrics to stdout")
    if args.output:
        _write_csv(result.forecasts, args.output, state, "the forecasts")
    return 0


def _datasets(args: argparse.Namespace, state: _RunState) -> int:
    from tsrnn import datasets

    table = datasets.list_datasets()
    if args.name is None:
        rows = [["name", "frequency", "seasonal period", "description"]]
        rows += [[str(name), *(str(row[c]) for c in rows[0][1:])] for name, row in table.iterrows()]
        widths = [max(len(row[j]) for row in rows) for j in range(3)]
        for row in rows:
            # Left-aligned, because the descriptions are prose.
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
        sys.stdout.flush()
        return 0
    if args.name not in table.index:
        raise CommandError(f"no dataset {args.name!r}; the datasets are {list(table.index)}")
    data = getattr(datasets, table.loc[args.name, "loader"])()
    if isinstance(data, dict):
        frame = pd.concat(
            [
                pd.DataFrame({"unique_id": uid, "t": series.index, "y": series.to_numpy()})
                for uid, series in data.items()
            ],
            ignore_index=True,
        )
        _write_csv(frame, args.output, state, "the dataset")
    else:
        _write_csv(
            data.to_frame() if isinstance(data, pd.Series) else data, args.output, state, "the dataset", index=True
        )
    return 0


# -------------------------------------------------------------------------------- parsing


def _add_data_options(parser: argparse.ArgumentParser, horizon_required: bool = True) -> None:
    parser.add_argument(
        "data", help="CSV file with a header row, one row per time step (with --id-col: per series and step)"
    )
    parser.add_argument(
        "--id-col",
        metavar="COL",
        help="column of series ids: the file holds many series in the long format, a row per series and step, "
        "for one model trained on all of them (default: a column named unique_id, where there is one)",
    )
    parser.add_argument(
        "--time-col", metavar="COL", help="column of timestamps (default: the first column of dates, else of years)"
    )
    parser.add_argument(
        "--target",
        metavar="COL[,COL...]",
        type=_column_list,
        help="column(s) to forecast, one model for all (default: the only numeric column left)",
    )
    parser.add_argument(
        "--exog",
        metavar="A,B,...",
        type=_column_list,
        default=[],
        help="covariate columns; their future values are the rows after the last target value, target left empty",
    )
    parser.add_argument(
        "--sep", type=_separator, metavar="CHAR", help="field separator, such as ';' or tab (default: detected)"
    )
    parser.add_argument(
        "--decimal",
        choices=[".", ","],
        metavar="MARK",
        help="decimal mark, '.' or ',' (default: ',' where cells such as 3,14 appear)",
    )
    parser.add_argument(
        "--dayfirst",
        action="store_true",
        help="read dates such as 01/02/2020 day first (default: day first only where a day above 12 shows it)",
    )
    parser.add_argument(
        "--fill",
        choices=list(_FILL_METHODS),
        help="fill gaps (missing timestamps, empty cells) by linear interpolation or by carrying the last value "
        "forward, and say how many (default: gaps are an error)",
    )
    parser.add_argument(
        "--horizon",
        type=_positive_int,
        required=horizon_required,
        metavar="H",
        help="steps to forecast" + ("" if horizon_required else " (default with --load: the saved model's horizon)"),
    )
    parser.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm", help="recurrent cell (default: lstm)")
    parser.add_argument(
        "--loss",
        choices=["mse", "mae", "huber", "pinball"],
        default="mse",
        help="training loss: mse, mae (the median), huber (robust to outliers) or pinball at --quantile (default: mse)",
    )
    parser.add_argument(
        "--quantile",
        type=_coverage,
        default=0.5,
        metavar="Q",
        help="level of the pinball loss, in (0, 1) (default: 0.5)",
    )
    parser.add_argument(
        "--strategy",
        choices=["mimo", "direct", "recursive", "seq2seq"],
        default="mimo",
        help="multi-step strategy (default: mimo)",
    )
    parser.add_argument("--window", type=_positive_int, metavar="W", help="input steps (default: two seasonal periods)")
    parser.add_argument(
        "--transform",
        choices=["log", "log1p"],
        help="log of the target (values > 0; log1p: >= 0), undone on forecasts and intervals (default: none)",
    )
    parser.add_argument(
        "--coverage",
        type=_coverage,
        metavar="C",
        help="also give prediction intervals of this coverage, e.g. 0.9 (calibrated on the last steps)",
    )
    parser.add_argument(
        "--max-epochs", type=_positive_int, default=200, metavar="N", help="training epochs at most (default: 200)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="random seed, for reproducible results")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or warnings on stderr")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``tsrnn`` command.

    Returns
    -------
    argparse.ArgumentParser
        With the subcommands ``forecast``, ``backtest`` and ``datasets``.
    """
    from tsrnn import __version__

    parser = _Parser(
        prog=PROG,
        description="Forecast time series in CSV files with recurrent neural networks.",
        epilog="Run 'tsrnn COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    forecast = commands.add_parser(
        "forecast",
        help="train on a CSV series and forecast the steps after it",
        description="Train a recurrent network on a series in a CSV file and forecast the next steps. "
        "The forecasts are written as CSV (timestamp[, target], forecast[, lower_<pct>, upper_<pct>], such as "
        "lower_90 for --coverage 0.9); the target column comes with several --target. With --id-col the file "
        "holds many series in the long format (a row per series and step): one model is trained on all of them, "
        "and the forecast CSV is long too, with the id, time and target columns; --plot draws the first "
        f"{_PLOTTED_SERIES}.",
    )
    _add_data_options(forecast, horizon_required=False)
    forecast.add_argument("-o", "--output", metavar="FILE", help="write the forecast CSV here (default: stdout)")
    forecast.add_argument("--save", metavar="FILE", help="also save the model here (model.tsrnn), for --load")
    forecast.add_argument(
        "--load",
        metavar="FILE",
        help="forecast with a model saved by --save instead of training one: it reads DATA, the series up to a new "
        "end, and takes in the observations after its own end without retraining (training options are ignored)",
    )
    forecast.add_argument("--plot", metavar="PNG", help="also draw the history and forecast into this PNG file")
    forecast.set_defaults(run=_forecast)

    backtest = commands.add_parser(
        "backtest",
        help="evaluate forecasts of the last steps of a CSV series",
        description="Forecast each of the last FOLDS blocks of HORIZON steps from the data before it, training "
        "afresh each time, and print the error metrics per fold and on average. With --id-col, the last FOLDS "
        "blocks of every series, each fold training one model on all of them, and the metrics per series and on "
        "average over the series.",
    )
    _add_data_options(backtest)
    backtest.add_argument(
        "--folds", type=_positive_int, default=4, metavar="K", help="blocks of HORIZON steps tested (default: 4)"
    )
    backtest.add_argument("-o", "--output", metavar="FILE", help="write every forecast (tidy CSV) here")
    backtest.set_defaults(run=_backtest)

    data = commands.add_parser(
        "datasets",
        help="list the bundled datasets, or export one as CSV",
        description="List the bundled datasets, or export the one named as CSV.",
    )
    data.add_argument("name", nargs="?", help="dataset to export (default: list them)")
    data.add_argument("-o", "--output", metavar="FILE", help="write the CSV here (default: stdout)")
    data.set_defaults(run=_datasets, quiet=True)
    return parser


def _one_line(error: BaseException) -> str:
    # KeyError's str() quotes its argument; the message itself reads better.
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split()) or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the ``tsrnn`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program name; default: ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input or options (with one line on stderr),
        1 when training diverged, 130 when interrupted.
    """
    from tsrnn.training import TrainingDivergedError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        # --help, --version and usage errors end here; hand their status back instead of exiting.
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else EXIT_USAGE)
    run: Callable[[argparse.Namespace, _RunState], int] = args.run
    state, status = _RunState(), 0
    try:
        with _reporting(args, state):
            status = run(args, state)
    except KeyboardInterrupt:
        state.interrupted = True
    except BrokenPipeError:
        # The reader of stdout (`head`, say) left; silence the flush at exit, which would fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (
        CommandError,
        ValueError,
        TypeError,
        KeyError,
        FileNotFoundError,
        OSError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
    ) as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDivergedError as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    if state.interrupted:
        # Training stopped early keeps the weights of a finished epoch, and the outputs from them are written.
        print(f"{PROG}: interrupted; {state.outputs()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status
