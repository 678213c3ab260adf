"""The classic algorithms: `_train` (sync and async), predict with the trained model,
`_train_predict` and `_execute`, through opensearch-py's `plugins.ml` calls; deterministic."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch, RequestError

from cluster.cluster import Cluster

from .ml_helpers import error_of


def frame(names: list[str], rows: list[list[Any]], column_type: str = "DOUBLE") -> dict[str, Any]:
    return {"column_metas": [{"name": n, "column_type": column_type} for n in names],
            "rows": [{"values": [{"column_type": column_type, "value": v} for v in row]} for row in rows]}


POINTS = frame(["x", "y"], [[1.0, 1.0], [1.2, 0.8], [0.9, 1.1], [8.0, 8.0], [8.2, 7.9], [7.8, 8.1]])


def column(result: dict[str, Any], index: int = 0) -> list[Any]:
    return [row["values"][index]["value"] for row in result["prediction_result"]["rows"]]


async def test_kmeans_train_then_predict(client: AsyncOpenSearch) -> None:
    trained = await client.plugins.ml.train(algorithm_name="kmeans",
                                            body={"parameters": {"centroids": 2}, "input_data": POINTS})
    assert trained["status"] == "COMPLETED"
    model = await client.plugins.ml.get_model(model_id=trained["model_id"])
    assert (model["name"], model["algorithm"], model["model_version"], model["model_state"]) == (
        "KMEANS", "KMEANS", "1.0.0", "TRAINED")
    assert "content" not in model
    body = {"input_data": frame(["x", "y"], [[1.1, 0.9], [8.1, 8.0]])}
    answer = await client.plugins.ml.predict(algorithm_name="kmeans", model_id=trained["model_id"], body=body)
    assert answer["prediction_result"]["column_metas"] == [{"name": "ClusterID", "column_type": "INTEGER"}]
    near, far = column(answer)
    assert near != far
    again = await client.plugins.ml.predict_model(model_id=trained["model_id"], body=body)
    assert again == answer


async def test_kmeans_train_predict_and_its_checks(client: AsyncOpenSearch) -> None:
    answer = await client.plugins.ml.train_predict(algorithm_name="kmeans", body={"input_data": POINTS})
    labels = column(answer)
    assert labels[:3] == [labels[0]] * 3 and labels[3:] == [labels[3]] * 3 and labels[0] != labels[3]
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.train_predict(algorithm_name="kmeans",
                                              body={"parameters": {"centroids": 0}, "input_data": POINTS})
    assert error_of(raised.value) == (400, "illegal_argument_exception", "K should be positive.")
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.train(algorithm_name="nope", body={"input_data": POINTS})
    assert error_of(raised.value) == (400, "illegal_argument_exception", "Wrong function name")


async def test_linear_regression_from_an_index(client: AsyncOpenSearch) -> None:
    for number, (x, y) in enumerate([(1, 3.0), (2, 5.0), (3, 7.0), (4, 9.0)]):
        await client.index(index="points", id=str(number), body={"x": x, "y": y, "label": "ignored"})
    body = {"parameters": {"target": "y", "seed": 7},
            "input_query": {"query": {"match_all": {}}, "_source": ["x", "y"], "size": 100}, "input_index": ["points"]}
    trained = await client.plugins.ml.train(algorithm_name="linear_regression", body=body)
    answer = await client.plugins.ml.predict(algorithm_name="linear_regression", model_id=trained["model_id"],
                                             body={"input_data": frame(["x"], [[10.0]])})
    assert answer["prediction_result"]["column_metas"] == [{"name": "y", "column_type": "DOUBLE"}]
    assert column(answer) == [pytest.approx(21.0)]
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.train(algorithm_name="linear_regression", body={"input_data": POINTS})
    assert error_of(raised.value) == (400, "illegal_argument_exception", "Target is null or empty")


async def test_async_train_is_a_training_task(client: AsyncOpenSearch, cluster: Cluster) -> None:
    answer = await client.plugins.ml.train(algorithm_name="kmeans", body={"input_data": POINTS},
                                           params={"async": "true"})
    assert answer["status"] == "CREATED" and set(answer) == {"task_id", "status"}
    cluster.advance(1)
    task = await client.plugins.ml.get_task(task_id=answer["task_id"])
    assert (task["task_type"], task["function_name"], task["state"]) == ("TRAINING", "KMEANS", "COMPLETED")
    assert (await client.plugins.ml.get_model(model_id=task["model_id"]))["model_state"] == "TRAINED"


async def test_batch_rcf_flags_the_outlier(client: AsyncOpenSearch) -> None:
    rows = [[float(i % 5)] for i in range(40)] + [[100.0]]
    answer = await client.plugins.ml.train_predict(
        algorithm_name="batch_rcf", body={"parameters": {"output_after": 10}, "input_data": frame(["v"], rows)})
    metas = answer["prediction_result"]["column_metas"]
    assert metas == [{"name": "score", "column_type": "DOUBLE"}, {"name": "anomalous", "column_type": "BOOLEAN"}]
    scores, flags = column(answer, 0), column(answer, 1)
    assert scores[:10] == [0.0] * 10 and flags[-1] is True and not any(flags[:-1])


async def test_fit_rcf_with_a_time_field(client: AsyncOpenSearch) -> None:
    day = 86_400_000
    rows = [{"values": [{"column_type": "DOUBLE", "value": 1.0 + (i % 3) / 10},
                        {"column_type": "LONG", "value": i * day}]} for i in range(40)]
    rows.append({"values": [{"column_type": "DOUBLE", "value": 50.0}, {"column_type": "LONG", "value": 40 * day}]})
    data = {"column_metas": [{"name": "value", "column_type": "DOUBLE"}, {"name": "ts", "column_type": "LONG"}],
            "rows": rows}
    trained = await client.plugins.ml.train(
        algorithm_name="fit_rcf", body={"parameters": {"time_field": "ts", "output_after": 8}, "input_data": data})
    answer = await client.plugins.ml.predict(algorithm_name="fit_rcf", model_id=trained["model_id"],
                                             body={"input_data": data})
    names = [meta["name"] for meta in answer["prediction_result"]["column_metas"]]
    assert sorted(names) == ["anomaly_grade", "score", "ts"]
    grades = column(answer, names.index("anomaly_grade"))
    assert grades[-1] > 0 and max(grades[:-1]) == 0
    assert column(answer, names.index("ts"))[-1] == 40 * day


async def test_execute_sample_calculator_and_unsupported(client: AsyncOpenSearch) -> None:
    answer = await client.plugins.ml.execute_algorithm(algorithm_name="local_sample_calculator",
                                                       body={"operation": "max", "input_data": [1.0, 2.0, 3.0]})
    assert answer == {"result": 3.0}
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.execute_algorithm(algorithm_name="kmeans", body={"input_data": POINTS})
    assert error_of(raised.value) == (400, "illegal_argument_exception", "Unsupported executable function: KMEANS")


async def test_execute_anomaly_localization(client: AsyncOpenSearch) -> None:
    day, start = 86_400_000, 1_620_630_000_000
    number = 0
    for bucket in range(3):
        for attribute in range(3):
            value = 1.0 + attribute + (bucket * attribute * 2.0)
            await client.index(index="rca-index", id=str(number),
                               body={"timestamp": start + bucket * day + 1000, "attribute": f"attr{attribute}",
                                     "value": value})
            number += 1
    body = {"index_name": "rca-index", "attribute_field_names": ["attribute"],
            "aggregations": [{"sum": {"sum": {"field": "value"}}}], "time_field_name": "timestamp",
            "start_time": start, "end_time": start + 3 * day, "min_time_interval": day, "num_outputs": 10}
    answer = await client.plugins.ml.execute_algorithm(algorithm_name="anomaly_localization", body=body)
    [result] = answer["results"]
    assert result["name"] == "sum"
    buckets = result["result"]["buckets"]
    assert [b["overall_aggregate_value"] for b in buckets] == [6.0, 12.0, 18.0]
    assert "entities" not in buckets[0]
    assert buckets[1]["entities"] == [
        {"key": ["attr2"], "contribution_value": 4.0, "base_value": 3.0, "new_value": 7.0},
        {"key": ["attr1"], "contribution_value": 2.0, "base_value": 2.0, "new_value": 4.0},
    ]
    body["end_time"] = start + day
    with pytest.raises(RequestError) as raised:
        await client.plugins.ml.execute_algorithm(algorithm_name="anomaly_localization", body=body)
    assert error_of(raised.value) == (400, "illegal_argument_exception", "Time range is too short")


async def test_node_stats_with_a_trailing_slash(client: AsyncOpenSearch, cluster: Cluster) -> None:
    node_id = cluster.node_id("ml-1")
    slashed = await client.transport.perform_request("GET", f"/_plugins/_ml/{node_id}/stats/")
    assert slashed == await client.plugins.ml.get_stats(node_id=node_id)
    assert list(slashed["nodes"]) == [node_id]
    assert await client.transport.perform_request("GET", "/_plugins/_ml/stats/") == await client.plugins.ml.get_stats()
