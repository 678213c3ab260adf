"""ml-commons' classic algorithms, deterministic: what `_train`, `_predict` (with a trained
model), `_train_predict` and `_execute` compute. Pure logic: data frames in, a model state or
result rows out; no I/O.

- `KMEANS` (`centroids` 2, `iterations` 10, `distance_type` EUCLIDEAN / COSINE / L1): Lloyd's
  algorithm from k-means++ centres drawn with a fixed seed (ml-commons seeds Tribuo with the
  clock and takes no seed). Rows answer `ClusterID` (INTEGER).
- `LINEAR_REGRESSION` (`target` required; `seed` accepted): ordinary least squares with an
  intercept, solved exactly (ml-commons runs Tribuo's SGD for `epochs`; the exact solution
  is what that converges to). Rows answer the target's name (DOUBLE).
- `BATCH_RCF` and `FIT_RCF`: not Random Cut Forest but a deterministic stand-in with its
  interface. Each point's `score` is 0 until `output_after` points have been seen, then
  computed from d, the point's distance from the mean of the points seen so far (the
  last `sample_size`), in units of their root-mean-square spread, as log2(1 + (d / 3)^2)
  (1.0 at three spreads). BATCH_RCF answers `score`
  and `anomalous` (score > `anomaly_score_threshold`, default 1.0), learning from the first
  `training_data_size` rows (all by default); FIT_RCF answers `score`, `anomaly_grade`
  (0 at or below a score of 2, rising to 1 at 5) and the `time_field` (epoch millis).
- `LOCAL_SAMPLE_CALCULATOR` (execute): `sum`, `max` or `min` of `input_data`.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from cluster.errors import MlError, illegal_argument

from .data_frame import DataFrame

#: Every trained model's `model_version` (the trainers' VERSION).
VERSION = "1.0.0"
#: The seed of k-means' centre draw (ml-commons takes none).
KMEANS_SEED = 0
TRAINABLE = ("KMEANS", "LINEAR_REGRESSION", "BATCH_RCF", "FIT_RCF")
DISTANCES = ("EUCLIDEAN", "COSINE", "L1")


def _int(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise illegal_argument(f"[{name}] must be a number")
    try:
        return int(value)
    except ValueError:
        raise MlError(400, "number_format_exception", f'For input string: "{value}"') from None


def _float(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MlError(400, "number_format_exception", f'For input string: "{value}"') from None


# -- k-means ------------------------------------------------------------------------


def kmeans_train(frame: DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    centroids, iterations = _int(params, "centroids", 2), _int(params, "iterations", 10)
    if centroids <= 0:
        raise illegal_argument("K should be positive.")
    if iterations <= 0:
        raise illegal_argument("Iterations should be positive.")
    distance = str(params.get("distance_type", "EUCLIDEAN")).upper()
    if distance not in DISTANCES:
        raise illegal_argument(f"No enum constant org.opensearch.ml.common.input.parameter.clustering.KMeansParams."
                               f"DistanceType.{distance}")
    points = np.array(frame.numeric(list(range(len(frame.names)))), dtype=float)
    rng = np.random.default_rng(KMEANS_SEED)
    centres = [points[rng.integers(len(points))]]
    while len(centres) < min(centroids, len(points)):
        with np.errstate(all="ignore"):  # huge values overflow to inf: then a uniform draw
            nearest = np.min([_distances(points, centre, distance) for centre in centres], axis=0) ** 2
            total = nearest.sum()
            usable = bool(np.isfinite(total)) and total > 0 and bool(np.all(np.isfinite(nearest)))
        pick = rng.choice(len(points), p=nearest / total) if usable else rng.integers(len(points))
        centres.append(points[pick])
    means = np.array(centres)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            labels = _assign(points, means, distance)
            updated = np.array([points[labels == k].mean(axis=0) if np.any(labels == k) else means[k]
                                for k in range(len(means))])
            if np.allclose(updated, means, equal_nan=True):
                break
            means = updated
    return {"centroids": means.tolist(), "distance_type": distance, "columns": list(frame.names)}


def kmeans_predict(model: Mapping[str, Any], frame: DataFrame) -> list[dict[str, Any]]:
    points = np.array(frame.numeric(list(range(len(frame.names)))), dtype=float)
    means = np.array(model["centroids"], dtype=float)
    if points.shape[1] != means.shape[1]:
        raise illegal_argument("The prediction data frame has a different number of features than the training data")
    return [{"ClusterID": int(label)} for label in _assign(points, means, model["distance_type"])]


def _distances(points: np.ndarray, centre: np.ndarray, distance: str) -> np.ndarray:
    if distance == "L1":
        return np.abs(points - centre).sum(axis=1)
    if distance == "COSINE":
        norms = np.linalg.norm(points, axis=1) * np.linalg.norm(centre)
        return 1.0 - np.divide(points @ centre, norms, out=np.zeros(len(points)), where=norms > 0)
    return np.linalg.norm(points - centre, axis=1)


def _assign(points: np.ndarray, means: np.ndarray, distance: str) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.argmin(np.array([_distances(points, centre, distance) for centre in means]), axis=0)


# -- linear regression --------------------------------------------------------------


def linear_regression_train(frame: DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    target = params.get("target")
    if not isinstance(target, str) or not target:
        raise illegal_argument("Target is null or empty")
    target_column = frame.column(target)
    if target_column is None:
        raise illegal_argument(f"No column named {target} in the data frame")
    for name, low in (("learning_rate", 0.0), ("momentum_factor", 0.0), ("epsilon", 0.0), ("decay_rate", 0.0)):
        if _float(params, name, 0.01) < low:
            label = {"learning_rate": "Learning rate", "momentum_factor": "MomentumFactor", "epsilon": "Epsilon",
                     "decay_rate": "DecayRate"}[name]
            raise illegal_argument(f"{label} should not be negative.")
    if _int(params, "epochs", 1000) < 0:
        raise illegal_argument("Epochs should not be negative.")
    features = [i for i in range(len(frame.names)) if i != target_column]
    x = np.array(frame.numeric(features), dtype=float)
    y = np.array([row[0] for row in frame.numeric([target_column])], dtype=float)
    design = np.hstack([x, np.ones((len(x), 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    return {"target": target, "features": [frame.names[i] for i in features],
            "weights": solution[:-1].tolist(), "intercept": float(solution[-1])}


def linear_regression_predict(model: Mapping[str, Any], frame: DataFrame) -> list[dict[str, Any]]:
    columns = []
    for name in model["features"]:
        index = frame.column(name)
        if index is None:
            raise illegal_argument(f"No column named {name} in the data frame")
        columns.append(index)
    x = np.array(frame.numeric(columns), dtype=float)
    predictions = x @ np.array(model["weights"], dtype=float) + model["intercept"]
    return [{model["target"]: float(value)} for value in predictions]


# -- the RCF stand-in ---------------------------------------------------------------


class _Scorer:
    """Distance of a point from the recent sample's mean, in units of its spread."""

    def __init__(self, output_after: int, sample_size: int, sample: list[list[float]] | None = None) -> None:
        self.output_after, self.sample_size = output_after, sample_size
        self.sample: list[list[float]] = list(sample or [])
        self.seen = len(self.sample)

    def score(self, point: list[float]) -> float:
        if self.seen < max(self.output_after, 1) or not self.sample:
            return 0.0
        sample = np.array(self.sample, dtype=float)
        mean = sample.mean(axis=0)
        spread = math.sqrt(float(((sample - mean) ** 2).sum(axis=1).mean())) or 1.0
        distance = float(np.linalg.norm(np.array(point) - mean)) / spread
        return math.log2(1.0 + (distance / 3.0) ** 2)

    def update(self, point: list[float]) -> None:
        self.sample.append(point)
        self.sample = self.sample[-self.sample_size:]
        self.seen += 1


def _rcf_sizes(params: Mapping[str, Any]) -> tuple[int, int]:
    return _int(params, "output_after", 32), _int(params, "sample_size", 256)


def batch_rcf_train(frame: DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    output_after, sample_size = _rcf_sizes(params)
    scorer = _Scorer(output_after, sample_size)
    for point in frame.numeric(list(range(len(frame.names)))):
        scorer.update(point)
    return {"kind": "BATCH_RCF", "sample": scorer.sample, "output_after": output_after, "sample_size": sample_size,
            "threshold": _float(params, "anomaly_score_threshold", 1.0)}


def batch_rcf_predict(model: Mapping[str, Any], frame: DataFrame, learn_rows: int = 0) -> list[dict[str, Any]]:
    """Score every row; the first `learn_rows` also join the sample (train-and-predict)."""
    scorer = _Scorer(model["output_after"], model["sample_size"], model["sample"])
    results = []
    for number, point in enumerate(frame.numeric(list(range(len(frame.names))))):
        score = scorer.score(point)
        if number < learn_rows:
            scorer.update(point)
        results.append({"score": score, "anomalous": score > model["threshold"]})
    return results


def batch_rcf_train_predict(frame: DataFrame, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    output_after, sample_size = _rcf_sizes(params)
    model = {"sample": [], "output_after": output_after, "sample_size": sample_size,
             "threshold": _float(params, "anomaly_score_threshold", 1.0)}
    return batch_rcf_predict(model, frame, _int(params, "training_data_size", len(frame.rows)))


def fit_rcf_train(frame: DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    output_after, sample_size = _rcf_sizes(params)
    model = {"kind": "FIT_RCF", "sample": [], "output_after": output_after, "sample_size": sample_size,
             **_time_settings(params)}
    scorer = _Scorer(output_after, sample_size)
    for point, _ in _timed_points(model, frame):
        scorer.update(point)
    model["sample"] = scorer.sample
    return model


def fit_rcf_predict(model: Mapping[str, Any], frame: DataFrame, learn: bool = False) -> list[dict[str, Any]]:
    scorer = _Scorer(model["output_after"], model["sample_size"], model["sample"])
    results = []
    for point, timestamp in _timed_points(model, frame):
        score = scorer.score(point)
        if learn:
            scorer.update(point)
        grade = min(1.0, max(0.0, (score - 2.0) / 3.0))
        results.append({model["time_field"]: timestamp, "score": score, "anomaly_grade": grade})
    return results


def fit_rcf_train_predict(frame: DataFrame, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    output_after, sample_size = _rcf_sizes(params)
    model = {"sample": [], "output_after": output_after, "sample_size": sample_size, **_time_settings(params)}
    return fit_rcf_predict(model, frame, learn=True)


def _time_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"time_field": str(params.get("time_field", "timestamp")),
            "date_format": str(params.get("date_format", "yyyy-MM-dd HH:mm:ss")),
            "time_zone": str(params.get("time_zone", "UTC"))}


_JAVA_DATE_TOKENS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
                     ("SSS", "%f"))


def _timed_points(model: Mapping[str, Any], frame: DataFrame) -> list[tuple[list[float], int]]:
    time_column = frame.column(model["time_field"])
    features = [i for i in range(len(frame.names)) if i != time_column]
    points = frame.numeric(features)
    timed = []
    for row, point in zip(frame.rows, points):
        timestamp = 0 if time_column is None else _timestamp(model, frame.types[time_column], row[time_column])
        timed.append((point, timestamp))
    return timed


def _timestamp(model: Mapping[str, Any], column_type: str, value: Any) -> int:
    if column_type in ("LONG", "INTEGER") and isinstance(value, int):
        return value
    if column_type != "STRING" or not isinstance(value, str):
        raise illegal_argument(f"Wrong data type of time field. Should use LONG or STRING, but got {column_type}")
    pattern = model["date_format"]
    for java, python in _JAVA_DATE_TOKENS:
        pattern = pattern.replace(java, python)
    try:
        zone: Any = ZoneInfo(model["time_zone"])
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc
    try:
        parsed = datetime.strptime(value, pattern).replace(tzinfo=zone)
    except ValueError:
        raise illegal_argument(f"Failed to parse timestamp {value}") from None
    return int(parsed.timestamp() * 1000)


# -- dispatch -----------------------------------------------------------------------

TRAINERS = {"KMEANS": kmeans_train, "LINEAR_REGRESSION": linear_regression_train,
            "BATCH_RCF": batch_rcf_train, "FIT_RCF": fit_rcf_train}


def predict(algorithm: str, model: Mapping[str, Any], frame: DataFrame) -> list[dict[str, Any]]:
    if algorithm == "KMEANS":
        return kmeans_predict(model, frame)
    if algorithm == "LINEAR_REGRESSION":
        return linear_regression_predict(model, frame)
    if algorithm == "BATCH_RCF":
        return batch_rcf_predict(model, frame)
    return fit_rcf_predict(model, frame)


def train_predict(algorithm: str, frame: DataFrame, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    if algorithm == "BATCH_RCF":
        return batch_rcf_train_predict(frame, params)
    if algorithm == "FIT_RCF":
        return fit_rcf_train_predict(frame, params)
    if algorithm == "KMEANS":  # trains on the frame and answers for the same rows
        return kmeans_predict(kmeans_train(frame, params), frame)
    return linear_regression_predict(linear_regression_train(frame, params), frame)


def sample_calculator(body: Mapping[str, Any]) -> dict[str, Any]:
    """`_execute/local_sample_calculator`."""
    operation = body.get("operation")
    data = body.get("input_data")
    if operation is None:
        raise illegal_argument("wrong operation")
    if not isinstance(data, list) or not data or not all(isinstance(v, (int, float)) for v in data):
        raise illegal_argument("empty input data")
    values = [float(v) for v in data]
    results = {"sum": lambda: math.fsum(values), "max": lambda: max(values), "min": lambda: min(values)}
    if operation not in results:
        raise illegal_argument("can't support this operation")
    return {"result": results[operation]()}
