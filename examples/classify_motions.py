"""Classify labelled sequences with RNNClassifier, against two baselines on the flattened window.

Trains on the official train splits of the two bundled sets, BasicMotions (smart-watch
recordings of four activities, 6 channels of 100 steps) and ItalyPowerDemand (days of Italian
electricity demand, winter or summer, 24 hourly values), and reports the accuracy on their
official test splits, beside logistic regression and a random forest on the flattened
windows (every step of every channel as one feature).

    python examples/classify_motions.py [--max-epochs 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from tsrnn import RNNClassifier
from tsrnn.datasets import load_basic_motions, load_italy_power_demand


def flatten(X):
    """Return windows (samples, steps, channels) as rows (samples, steps * channels), each value a feature."""
    return X.reshape(len(X), -1)


def flattened(model):
    """``model`` on the flattened, standardised windows."""
    return make_pipeline(FunctionTransformer(flatten), StandardScaler(), model)


def main() -> None:
    """Fit the three models on both sets and print their test accuracies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name, loader in (("BasicMotions", load_basic_motions), ("ItalyPowerDemand", load_italy_power_demand)):
        X_train, y_train, X_test, y_test = loader()
        print(f"{name}: {len(X_train)} training and {len(X_test)} test sequences of shape {X_train.shape[1:]}")
        models = {
            "RNNClassifier": RNNClassifier(max_epochs=args.max_epochs, random_state=args.seed),
            "logistic regression": flattened(LogisticRegression(max_iter=5000)),
            "random forest": flattened(RandomForestClassifier(random_state=args.seed)),
        }
        for label, model in models.items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            print(f"  {label:20s} test accuracy {model.score(X_test, y_test):.3f}  (fit {seconds:.1f} s)")
        network = models["RNNClassifier"]
        print(f"  RNNClassifier confusion matrix (rows: true {list(network.classes_)}):")
        for row in confusion_matrix(y_test, network.predict(X_test), labels=network.classes_):
            print("   ", " ".join(f"{count:4d}" for count in row))


if __name__ == "__main__":
    main()
