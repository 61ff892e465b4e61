"""Real, public time series bundled with tsrnn, as pandas objects with a regular time index.

Every loader reads a CSV shipped inside the package (from the top-level ``datasets/`` folder
of a checkout) and verifies its SHA-256 checksum. The series loaders return a Series or
DataFrame whose index carries its frequency; the two sets of labelled sequences, for
classification, return their official train and test splits as arrays. ``list_datasets()``
describes them all; ``datasets/README.md`` gives each one's origin and licence.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import pathlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "list_datasets",
    "load_air_passengers",
    "load_basic_motions",
    "load_bike_sharing",
    "load_co2",
    "load_italy_power_demand",
    "load_nile",
    "load_sunspots",
    "load_tourism_quarterly",
    "load_us_macro",
    "load_vic_electricity",
]


@dataclass(frozen=True)
class _Dataset:
    file: str
    sha256: str
    frequency: str
    seasonal_period: str
    description: str


_DATASETS = {
    "air_passengers": _Dataset(
        "air_passengers.csv", "961137884a1bed241a548137ff52be6bbb79f81db0ea8bd95817a23c4842ca10", "MS", "12",
        "International airline passengers (thousands), monthly 1949-1960; Box, Jenkins & Reinsel",
    ),
    "bike_sharing": _Dataset(
        "bike_sharing_daily.csv", "aada5f9b3614464685106e6f60e729e379d89bea2e737e29f6798ee079024738", "D", "7",
        "Capital Bikeshare rentals (cnt) and weather, daily 2011-2012; Fanaee-T & Gama, UCI, CC BY 4.0",
    ),
    "co2": _Dataset(
        "co2_mauna_loa_weekly.csv", "599638ed8670dccfdd92f64a6b3e7babee90e2529ebb5aa103004e48eb1014b5", "W-SAT", "52",
        "Mauna Loa atmospheric CO2 (ppm), weekly 1958-2001, 59 missing weeks; Scripps/CDIAC, public domain",
    ),
    "nile": _Dataset(
        "nile.csv", "88e97bea7249e5832a85e41aec6ce4b8f7b1b14aae930c8363da7f193286b598", "YS-JAN", "none",
        "Annual flow of the Nile at Aswan (10^8 m^3), 1871-1970; Cobb (1978), public domain",
    ),
    "sunspots": _Dataset(
        "sunspots_yearly.csv", "74b8e3acb9886b68abe9c56f6081257d522e2cb2470f17dbf597b396f4ea1706", "YS-JAN", "none",
        "Yearly sunspot numbers, 1700-2008, non-negative with zeros (~11-year cycle); NGDC, public domain",
    ),
    "tourism_quarterly": _Dataset(
        "tourism_quarterly.csv", "b9ca5d4e79d4e2566d1b1b057258fe25426bab59b63db2c589820d05fe199bf2", "integer steps",
        "4", "427 quarterly tourism series of 30-130 steps (last 8: the competition's test period); CC BY 4.0",
    ),
    "us_macro": _Dataset(
        "us_macro_quarterly.csv", "dcd853ee811fb5a2c85869821799b2519f62b2ac1d506d25bd7e668d72843709", "QS-JAN", "4",
        "US macroeconomic indicators (real GDP, consumption, ...), quarterly 1959-2009; FRED, public domain",
    ),
    "italy_power_demand": _Dataset(
        "italy_power_demand.csv", "45446d986f762dbbaaf1e3f3fb8bb7cec4a87f194f64eb4a4f842ac8486cfe51",
        "24 hourly steps a sample", "none",
        "Labelled days: Italian electricity demand of 1997, winter (1) or summer (2); 67 train, 1029 test; UCR",
    ),
    "basic_motions": _Dataset(
        "basic_motions.csv", "517dd5a6ff57b4582885631c32ffb405ee4deeb967be89e243de75c4a3b7bf07",
        "100 steps at 10 Hz a sample", "none",
        "Labelled smart-watch recordings, 6 channels, 4 activities; 40 train, 40 test; UEA",
    ),
    "vic_electricity": _Dataset(
        "vic_electricity_hourly.csv", "2176cef02aef812856ca333598b76cbe100bc2fb5638f475cd053819e3cf8764", "h",
        "24 and 168", "Victoria electricity demand (GW), Melbourne temperature, workday; hourly 2014; AEMO, BOM",
    ),
}  # fmt: skip


def _path(name: str) -> pathlib.Path:
    """Where the CSV of a dataset is: inside the installed package, else in the checkout."""
    file = _DATASETS[name].file
    packaged = importlib.resources.files("tsrnn") / "_data" / file
    if packaged.is_file():
        return pathlib.Path(str(packaged))
    return pathlib.Path(__file__).resolve().parents[1] / "datasets" / file


def _read(name: str, **read_csv: object) -> pd.DataFrame:
    path = _path(name)
    if not path.is_file():
        raise FileNotFoundError(f"the bundled dataset file {path} is missing; reinstall tsrnn")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _DATASETS[name].sha256:
        raise OSError(f"the bundled dataset file {path} is corrupted (SHA-256 {digest}); reinstall tsrnn")
    return pd.read_csv(path, **read_csv)


def _regular(frame: pd.DataFrame | pd.Series, freq: str) -> pd.DataFrame | pd.Series:
    """Put the frequency on the index, checking that the timestamps are exactly regular."""
    regular = pd.date_range(frame.index[0], periods=len(frame), freq=freq, name=frame.index.name)
    if not regular.equals(frame.index):
        raise OSError(f"the timestamps of the bundled data are not regular at frequency {freq}; reinstall tsrnn")
    frame.index = regular
    return frame


def list_datasets() -> pd.DataFrame:
    """Describe the bundled datasets: loader, frequency, seasonal period, description.

    Returns
    -------
    DataFrame indexed by dataset name.
    """
    rows = {
        name: {
            "loader": f"load_{name}",
            "frequency": data.frequency,
            "seasonal period": data.seasonal_period,
            "description": data.description,
        }
        for name, data in _DATASETS.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def load_air_passengers() -> pd.Series:
    """Monthly international airline passengers in thousands, 1949-01 to 1960-12 (144 months).

    Returns
    -------
    Series named ``passengers``, DatetimeIndex ``month`` at frequency ``MS``.
    """
    frame = _read("air_passengers", parse_dates=["month"], index_col="month")
    return _regular(frame["passengers"].astype(float), "MS")


def load_bike_sharing() -> pd.DataFrame:
    """Daily bike rentals in Washington D.C. with weather and calendar, 2011-01-01 to 2012-12-31.

    The target is ``cnt`` (= ``casual`` + ``registered``). ``temp``, ``atemp``, ``hum`` and
    ``windspeed`` are UCI's normalised values, known only once the day has passed unless
    forecast; ``weathersit``, ``holiday`` and ``workingday`` are codes and flags.

    Returns
    -------
    DataFrame with a DatetimeIndex ``date`` at frequency ``D`` (731 days).
    """
    return _regular(_read("bike_sharing", parse_dates=["date"], index_col="date"), "D")


def load_co2() -> pd.Series:
    """Weekly atmospheric CO2 at Mauna Loa in ppm, 1958-03-29 to 2001-12-29, with its real gaps.

    59 of the 2 284 weeks were not measured: they are NaN in the returned series, whose index
    keeps every week (frequency ``W-SAT``). Forecasters refuse NaN; fill the gaps explicitly
    first, for example with :func:`tsrnn.preprocessing.fill_gaps`.

    Returns
    -------
    Series named ``co2_ppm`` with a DatetimeIndex ``week`` at frequency ``W-SAT``.
    """
    frame = _read("co2", parse_dates=["week"], index_col="week")
    return _regular(frame["co2_ppm"].astype(float), "W-SAT")


def load_nile() -> pd.Series:
    """Annual flow volume of the Nile at Aswan (10^8 m^3), 1871 to 1970.

    Returns
    -------
    Series named ``volume``, DatetimeIndex ``year`` at frequency ``YS-JAN``.
    """
    frame = _read("nile")
    series = pd.Series(frame["volume"].astype(float).to_numpy(), name="volume",
                       index=pd.to_datetime(frame["year"].astype(str), format="%Y").rename("year"))  # fmt: skip
    return _regular(series, "YS-JAN")


def load_sunspots() -> pd.Series:
    """Yearly mean sunspot numbers, 1700 to 2008 (309 years).

    Non-negative, with zeros (1711, 1712, 1810), and a cycle of about 11 years that is not a
    calendar season, so no seasonal period is set.

    Returns
    -------
    Series named ``sunspots``, DatetimeIndex ``year`` at frequency ``YS-JAN``.
    """
    frame = _read("sunspots")
    series = pd.Series(frame["sunspots"].astype(float).to_numpy(), name="sunspots",
                       index=pd.to_datetime(frame["year"].astype(str), format="%Y").rename("year"))  # fmt: skip
    return _regular(series, "YS-JAN")


def load_us_macro() -> pd.DataFrame:
    """US quarterly macroeconomic series, 1959Q1 to 2009Q3 (203 quarters).

    Columns: realgdp, realcons, realinv, realgovt, realdpi, cpi, m1, tbilrate, unemp, pop,
    infl, realint (as in statsmodels' ``macrodata``).

    Returns
    -------
    DataFrame with a DatetimeIndex ``quarter`` (the first day of each quarter, ``QS-JAN``).
    """
    frame = _read("us_macro")
    index = pd.to_datetime(
        frame["year"].astype(str) + "-" + ((frame["quarter"] - 1) * 3 + 1).astype(str) + "-01"
    ).rename("quarter")
    data = frame.drop(columns=["year", "quarter"]).set_axis(index)
    return _regular(data, "QS-JAN")


def load_vic_electricity() -> pd.DataFrame:
    """Hourly electricity demand of Victoria (Australia) in GW, with Melbourne's temperature, 2014.

    Columns ``demand_gw`` (the target), ``temperature_c`` and ``workday`` (1 on working days).
    Local standard time, no daylight-saving gaps.

    Returns
    -------
    DataFrame with a DatetimeIndex ``datetime`` at frequency ``h`` (8 760 hours).
    """
    return _regular(_read("vic_electricity", parse_dates=["datetime"], index_col="datetime"), "h")


def _labelled_sequences(name: str, labels: type) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read a file of one row per (sample, channel) into the official splits (X_train, y_train, X_test, y_test)."""
    frame = _read(name)
    steps = [column for column in frame.columns if column.startswith("t")]
    channels = frame["channel"].nunique()
    splits = []
    for split in ("train", "test"):
        part = frame[frame["split"] == split].sort_values(["sample", "channel"])
        values = part[steps].to_numpy(dtype=np.float64)
        # (samples · channels, steps) -> (samples, steps, channels)
        X = values.reshape(-1, channels, len(steps)).transpose(0, 2, 1).copy()
        y = part["label"].to_numpy()[::channels].astype(labels)
        splits += [X, y]
    return splits[0], splits[1], splits[2], splits[3]


def load_italy_power_demand() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Days of Italian electricity demand in 1997, labelled winter or summer: the official splits.

    Each sample is one day's 24 hourly values (z-normalised per day, as in the UCR archive);
    its label is 1 for a day from October to March, 2 for April to September. 67 days train,
    1 029 test.

    Returns
    -------
    X_train : ndarray of shape (67, 24, 1)
    y_train : ndarray of int of shape (67,)
    X_test : ndarray of shape (1029, 24, 1)
    y_test : ndarray of int of shape (1029,)
    """
    return _labelled_sequences("italy_power_demand", int)


def load_basic_motions() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Smart-watch recordings of four activities (standing, walking, running, badminton): the official splits.

    Each sample is 10 s at 10 Hz of 6 channels: the accelerometer's x, y and z, then the
    gyroscope's. 40 recordings train and 40 test, 10 of each activity in both.

    Returns
    -------
    X_train : ndarray of shape (40, 100, 6)
    y_train : ndarray of str of shape (40,)
    X_test : ndarray of shape (40, 100, 6)
    y_test : ndarray of str of shape (40,)
    """
    return _labelled_sequences("basic_motions", str)


def load_tourism_quarterly() -> dict[str, pd.Series]:
    """Load the 427 quarterly series of the tourism forecasting competition (Athanasopoulos et al., 2011).

    They carry no calendar dates: each series is indexed by its step ``t`` = 1, 2, ... . The
    last 8 values of every series are the competition's test period.

    Returns
    -------
    dict mapping the series id ("Q1", ...) to a Series named ``y`` indexed by ``t``.
    """
    frame = _read("tourism_quarterly")
    return {
        str(uid): pd.Series(group["y"].astype(float).to_numpy(), index=pd.RangeIndex(1, len(group) + 1, name="t"),
                            name="y")
        for uid, group in frame.groupby("unique_id", sort=False)
    }  # fmt: skip
