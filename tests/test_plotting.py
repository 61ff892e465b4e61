import subprocess
import sys
import textwrap
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

# Agg renders to files without a display; it must be chosen before pyplot is imported.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from tsrnn.datasets import load_air_passengers  # noqa: E402
from tsrnn.plotting import plot_backtest, plot_collection, plot_forecast, plot_loss  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def air():
    return load_air_passengers()


def seasonal_naive(train, horizon, index):
    """The last season of ``train`` repeated, with +-10 % (80 %) and +-20 % (95 %) bands."""
    point = np.resize(train.to_numpy()[-12:], horizon)
    return pd.DataFrame(
        {
            "forecast": point,
            "lower_80": point * 0.9,
            "upper_80": point * 1.1,
            "lower_95": point * 0.8,
            "upper_95": point * 1.2,
        },
        index=index,
    )


@pytest.fixture(scope="module")
def air_forecast(air):
    return seasonal_naive(air.iloc[:-12], 12, air.index[-12:])


def assert_png(ax, path):
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 5_000


def bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_forecast_real_data(air, air_forecast, tmp_path):
    ax = plot_forecast(air, air_forecast, history=36)
    assert_png(ax, tmp_path / "forecast.png")

    observed, forecast = ax.get_lines()
    # 36 months of history plus the 12 actual future months.
    assert len(observed.get_xdata()) == 48
    np.testing.assert_array_equal(forecast.get_ydata(), air_forecast["forecast"])
    assert observed.get_color() != forecast.get_color()
    assert len(bands(ax)) == 2
    assert legend_labels(ax) == ["95% interval", "80% interval", "observed", "forecast"]
    # The wider band is the lighter one.
    wide, narrow = bands(ax)
    assert wide.get_alpha() < narrow.get_alpha()
    assert ax.get_ylabel() == "passengers"


def test_plot_forecast_series_with_intervals_on_given_axes(air, air_forecast):
    _, ax = plt.subplots()
    intervals = air_forecast[["lower_80", "upper_80"]]
    returned = plot_forecast(air.iloc[:-12], air_forecast["forecast"], intervals=intervals, ax=ax)
    assert returned is ax
    assert len(ax.get_lines()) == 2
    assert len(ax.get_lines()[0].get_xdata()) == 132
    assert len(bands(ax)) == 1
    assert legend_labels(ax)[0] == "80% interval"


def test_plot_forecast_fractional_coverage_and_no_intervals(air, air_forecast):
    frame = air_forecast[["forecast"]].assign(**{"lower_97.5": 100.0, "upper_97.5": 700.0})
    ax = plot_forecast(air, frame)
    assert legend_labels(ax) == ["97.5% interval", "observed", "forecast"]

    ax = plot_forecast(air, air_forecast["forecast"], history=0)
    assert bands(ax) == []
    # No history: only the 12 actual future values remain.
    assert len(ax.get_lines()[0].get_xdata()) == 12


def test_plot_forecast_errors(air, air_forecast):
    with pytest.raises(ValueError, match="empty"):
        plot_forecast(air, air_forecast["forecast"].iloc[:0])
    with pytest.raises(ValueError, match="'forecast' column"):
        plot_forecast(air, air_forecast.rename(columns={"forecast": "mean"}))
    with pytest.raises(ValueError, match=r"unmatched: \['lower_95'\]"):
        plot_forecast(air, air_forecast.drop(columns="upper_95"))
    with pytest.raises(ValueError, match="same index"):
        plot_forecast(air, air_forecast["forecast"], intervals=air_forecast.iloc[:6, 1:])
    with pytest.raises(ValueError, match="history"):
        plot_forecast(air, air_forecast, history=-1)


def test_plot_loss(tmp_path):
    model = SimpleNamespace(
        loss_curve_=[1.0, 0.5, 0.3, 0.25, 0.2], validation_scores_=[1.2, 0.7, 0.5, 0.55, 0.6], best_epoch_=3
    )
    ax = plot_loss(model)
    assert_png(ax, tmp_path / "loss.png")

    train, validation, best = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(validation.get_ydata(), model.validation_scores_)
    assert list(best.get_xdata()) == [3, 3]
    assert best.get_linestyle() == ":"
    assert ax.get_yscale() == "log"
    assert legend_labels(ax) == ["training loss", "validation loss", "best epoch (3)"]


def test_plot_loss_without_validation_and_nonpositive_loss():
    model = SimpleNamespace(loss_curve_=[0.5, 0.0, -0.1], validation_scores_=None, best_epoch_=3)
    ax = plot_loss(model)
    assert len(ax.get_lines()) == 2
    assert ax.get_yscale() == "linear"


def test_plot_loss_unfitted():
    with pytest.raises(NotFittedError, match="loss_curve_"):
        plot_loss(object())


@pytest.fixture(scope="module")
def backtest(air):
    folds = []
    for fold, cutoff in enumerate([len(air) - 24, len(air) - 12]):
        train = air.iloc[:cutoff]
        test = air.iloc[cutoff : cutoff + 12]
        frame = seasonal_naive(train, 12, test.index).reset_index(names="timestamp")
        frame.insert(0, "fold", fold)
        frame.insert(1, "cutoff", train.index[-1])
        frame.insert(3, "actual", test.to_numpy())
        folds.append(frame)
    return SimpleNamespace(forecasts=pd.concat(folds, ignore_index=True))


def test_plot_backtest(backtest, tmp_path):
    ax = plot_backtest(backtest)
    assert_png(ax, tmp_path / "backtest.png")

    lines = ax.get_lines()
    # actual, then per fold: forecast and cutoff.
    assert len(lines) == 5
    assert len(lines[0].get_xdata()) == 24
    assert [line.get_label() for line in lines[1::2]] == ["fold 0", "fold 1"]
    assert all(line.get_linestyle() == ":" for line in lines[2::2])
    # Only the widest interval is drawn, once per fold.
    assert len(bands(ax)) == 2
    assert legend_labels(ax) == ["actual", "95% interval", "fold 0", "cutoff", "fold 1"]


def test_plot_backtest_deduplicates_actuals_and_needs_no_intervals(backtest):
    frame = backtest.forecasts[["fold", "cutoff", "timestamp", "actual", "forecast"]]
    # A third fold overlapping the second: its timestamps are already there.
    overlap = frame[frame["fold"] == 1].assign(fold=2)
    ax = plot_backtest(SimpleNamespace(forecasts=pd.concat([overlap, frame])))
    actual = ax.get_lines()[0]
    assert len(actual.get_xdata()) == 24
    assert np.all(np.diff(actual.get_xdata().astype("datetime64[ns]").astype(np.int64)) > 0)
    assert bands(ax) == []


def test_plot_backtest_errors(backtest):
    with pytest.raises(ValueError, match=r"\['actual'\]"):
        plot_backtest(SimpleNamespace(forecasts=backtest.forecasts.drop(columns="actual")))
    with pytest.raises(ValueError, match="empty"):
        plot_backtest(SimpleNamespace(forecasts=backtest.forecasts.iloc[:0]))
    with pytest.raises(TypeError, match="forecasts"):
        plot_backtest(object())


def run_python(code):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout.strip()


def test_import_does_not_import_matplotlib():
    assert run_python("import sys, tsrnn.plotting; print('matplotlib' in sys.modules)") == "False"


def test_missing_matplotlib_gives_install_hint():
    out = run_python(
        """
        import sys
        sys.modules["matplotlib"] = None  # makes any import of matplotlib fail
        import pandas as pd
        from tsrnn.plotting import plot_forecast
        y = pd.Series([1.0, 2.0, 3.0])
        try:
            plot_forecast(y, pd.Series([4.0], index=[3]))
        except ImportError as exc:
            print(exc)
            print(isinstance(exc.__cause__, ImportError))
        """
    )
    assert out.splitlines() == [
        "plotting needs matplotlib: pip install 'tsrnn[plot]' (or pip install matplotlib)",
        "True",
    ]


@pytest.fixture(scope="module")
def tourism():
    """The first 8 tourism series, with a seasonal-naive forecast of 8 quarters after each, as long frames."""
    from pathlib import Path

    frame = pd.read_csv(Path(__file__).resolve().parents[1] / "datasets" / "tourism_quarterly.csv")
    frame = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:8])]
    forecast = pd.concat(
        [
            pd.DataFrame({"unique_id": uid, "t": rows["t"].max() + np.arange(1, 9), "y": np.tile(rows["y"].tail(4), 2)})
            for uid, rows in frame.groupby("unique_id", sort=False)
        ],
        ignore_index=True,
    )
    return frame, forecast


def test_plot_collection_draws_the_first_series_in_a_grid(tourism):
    frame, forecast = tourism
    figure = plot_collection(frame, forecast, history=12, time_column="t")
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(figure.axes) == 6 and [ax.get_title() for ax in visible] == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    assert [ax.get_legend() is not None for ax in visible] == [True] + [False] * 5
    observed, point = visible[2].get_lines()
    q3 = frame[frame["unique_id"] == "Q3"]
    np.testing.assert_array_equal(observed.get_xdata(), q3["t"].tail(12))
    np.testing.assert_array_equal(observed.get_ydata(), q3["y"].tail(12))
    np.testing.assert_array_equal(point.get_ydata(), forecast.loc[forecast["unique_id"] == "Q3", "y"])
    # Three series asked for: two rows of two panels, the last hidden.
    three = plot_collection(frame, forecast, ids=["Q8", "Q1", "Q5"], time_column="t")
    assert [ax.get_title() for ax in three.axes if ax.get_visible()] == ["Q8", "Q1", "Q5"]
    assert len(three.axes) == 4 and not three.axes[3].get_visible()


def test_plot_collection_takes_dicts_of_series(tourism):
    frame, forecast = tourism

    def as_dict(long):
        return {uid: rows.set_index("t")["y"] for uid, rows in long.groupby("unique_id", sort=False)}

    figure = plot_collection(as_dict(frame), as_dict(forecast), max_series=2, ncols=3)
    assert [ax.get_title() for ax in figure.axes] == ["Q1", "Q2"]
    np.testing.assert_array_equal(figure.axes[1].get_lines()[1].get_ydata(), as_dict(forecast)["Q2"])


def test_plot_collection_errors(tourism):
    frame, forecast = tourism
    with pytest.raises(ValueError, match=r"^y has no column 'ds'; a long frame has the id, time and target columns"):
        plot_collection(frame, forecast)
    with pytest.raises(ValueError, match=r"^forecast has no series 'Q99'; its series are \['Q1', 'Q2'"):
        plot_collection(frame, forecast, ids=["Q1", "Q99"], time_column="t")
    with pytest.raises(ValueError, match=r"^y has no series 'Q8'"):
        plot_collection(frame[frame["unique_id"] != "Q8"], forecast, ids=["Q8"], time_column="t")
    with pytest.raises(ValueError, match=r"^max_series must be an int >= 1; got 0"):
        plot_collection(frame, forecast, max_series=0, time_column="t")
    with pytest.raises(ValueError, match=r"^no series to draw: ids is empty"):
        plot_collection(frame, forecast, ids=[], time_column="t")
    with pytest.raises(TypeError, match=r"^forecast must be a long DataFrame or a dict of Series; got list"):
        plot_collection(frame, [1, 2], time_column="t")
