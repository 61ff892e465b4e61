from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from tsrnn import RNNForecaster, datasets
from tsrnn.preprocessing import fill_gaps

ROOT = pathlib.Path(__file__).resolve().parents[1]

EXPECTED = {
    # loader: (length, frequency, first value, last value) of the target
    "load_air_passengers": (144, "MS", 112.0, 432.0),
    "load_nile": (100, "YS-JAN", 1120.0, 740.0),
    "load_sunspots": (309, "YS-JAN", 5.0, 2.9),
}


@pytest.mark.parametrize("loader", sorted(EXPECTED))
def test_series_loaders(loader):
    length, freq, first, last = EXPECTED[loader]
    series = getattr(datasets, loader)()
    assert isinstance(series, pd.Series) and len(series) == length
    assert series.index.freqstr == freq and series.notna().all()
    assert (series.iloc[0], series.iloc[-1]) == (first, last)


def test_frame_loaders():
    bike = datasets.load_bike_sharing()
    assert bike.shape == (731, 10) and bike.index.freqstr == "D" and bike.index[0] == pd.Timestamp("2011-01-01")
    assert (bike["cnt"] == bike["casual"] + bike["registered"]).all()
    electricity = datasets.load_vic_electricity()
    assert electricity.shape == (8760, 3) and electricity.index.freqstr == "h"
    assert list(electricity.columns) == ["demand_gw", "temperature_c", "workday"]
    macro = datasets.load_us_macro()
    assert macro.shape == (203, 12) and macro.index.freqstr == "QS-JAN"
    assert macro.index[-1] == pd.Timestamp("2009-07-01")


def test_co2_keeps_its_gaps_and_fill_gaps_fills_them_explicitly():
    co2 = datasets.load_co2()
    assert len(co2) == 2284 and co2.index.freqstr == "W-SAT" and co2.isna().sum() == 59
    with pytest.raises(ValueError, match=r"59 NaN or inf value\(s\).*fill_gaps"):
        RNNForecaster(window=52, horizon=4).fit(co2)
    linear = fill_gaps(co2)
    assert linear.notna().all() and linear[co2.notna()].equals(co2[co2.notna()])
    gap = np.flatnonzero(co2.isna().to_numpy())[0]
    assert min(co2.iloc[gap - 1], co2.iloc[gap + 1]) <= linear.iloc[gap] <= max(co2.iloc[gap - 1], co2.iloc[gap + 1])
    assert fill_gaps(co2, "ffill").iloc[gap] == co2.iloc[gap - 1]
    with pytest.raises(ValueError, match="`method` must be one of"):
        fill_gaps(co2, "mean")


def test_tourism_is_many_short_series():
    tourism = datasets.load_tourism_quarterly()
    assert len(tourism) == 427
    lengths = [len(s) for s in tourism.values()]
    assert min(lengths) >= 30 and max(lengths) <= 130
    first = tourism["Q1"]
    assert first.index[0] == 1 and first.name == "y" and first.notna().all()


@pytest.mark.parametrize(
    ("loader", "shapes", "classes"),
    [
        (datasets.load_italy_power_demand, ((67, 24, 1), (1029, 24, 1)), {1: (34, 513), 2: (33, 516)}),
        (datasets.load_basic_motions, ((40, 100, 6), (40, 100, 6)),
         {name: (10, 10) for name in ("badminton", "running", "standing", "walking")}),
    ],
)  # fmt: skip
def test_labelled_sequences_come_in_their_official_splits(loader, shapes, classes):
    X_train, y_train, X_test, y_test = loader()
    assert (X_train.shape, X_test.shape) == shapes
    assert X_train.dtype == X_test.dtype == np.float64 and np.isfinite(X_train).all() and np.isfinite(X_test).all()
    for label, (n_train, n_test) in classes.items():
        assert (np.sum(y_train == label), np.sum(y_test == label)) == (n_train, n_test)
    assert len(y_train) == len(X_train) and len(y_test) == len(X_test)


def test_labelled_sequences_keep_each_sample_with_its_channels_in_order():
    # The file holds one row per (sample, channel): a sample's channels stay together and in order.
    frame = pd.read_csv(datasets._path("basic_motions"))
    X_train, y_train, _, _ = datasets.load_basic_motions()
    row = frame[(frame["split"] == "train") & (frame["sample"] == 7) & (frame["channel"] == 4)]
    np.testing.assert_array_equal(X_train[7, :, 4], row.filter(regex=r"^t\d+$").to_numpy()[0])
    assert y_train[7] == row["label"].iloc[0]


def test_list_datasets_names_every_loader():
    table = datasets.list_datasets()
    assert len(table) == 10
    for loader in table["loader"]:
        assert callable(getattr(datasets, loader))


def test_a_corrupted_file_is_refused(monkeypatch):
    entry = datasets._DATASETS["nile"]
    monkeypatch.setitem(datasets._DATASETS, "nile", dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(OSError, match="corrupted"):
        datasets.load_nile()


def test_the_wheel_ships_the_data_and_loads_it_when_installed(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("tsrnn-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for entry in datasets._DATASETS.values():
        assert f"tsrnn/_data/{entry.file}" in names
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tsrnn.datasets as d; "
        "print(d.__file__); print(d._path('co2')); print(d.load_co2().isna().sum())"
    )
    env = {**os.environ, "TSRNN_CACHE": "0"}
    run = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    module_file, data_file, gaps = run.stdout.split()
    assert module_file.startswith(str(target)) and data_file.startswith(str(target)) and gaps == "59"
