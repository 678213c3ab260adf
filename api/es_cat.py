"""`GET /_cat/ml/trained_models[/{model_id}]`: one line per model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from aiohttp import web

from cluster.model_queries import expand_models
from cluster.model_stats import pipeline_count
from cluster.models import TrainedModel
from cluster.node_info import ML_CONFIG_VERSION

from .cat_table import CAT_PARAMS, Bytes, Column, render_table
from .context import cluster_of
from .params import Query

routes = web.RouteTableDef()

LIST_PARAMS = ("allow_no_match", "from", "size")


@dataclass(frozen=True, slots=True)
class Row:
    model: TrainedModel
    pipelines: int
    create_time: str


COLUMNS = [
    Column("id", (), "the trained model id", True, lambda r: r.model.model_id),
    Column("created_by", ("c", "createdBy"), "who created the model", False, lambda r: r.model.created_by),
    Column("heap_size", ("hs", "modelHeapSize"), "the estimated heap size to keep the model in memory", True,
           lambda r: Bytes(r.model.model_bytes), right=True),
    Column("operations", ("o", "modelOperations"), "the estimated number of operations to use the model", True,
           lambda r: r.model.estimated_operations, right=True),
    Column("license", ("l",), "The license level of the model", False, lambda r: r.model.license_level.upper()),
    Column("create_time", ("ct",), "The time the model was created", True, lambda r: r.create_time),
    Column("type", (), "The model type", True, lambda r: r.model.model_type),
    Column("version", ("v",), "The version of Elasticsearch when the model was created", False,
           lambda r: r.model.version or ML_CONFIG_VERSION),
    Column("description", ("d",), "The model description", False, lambda r: r.model.description or None),
    Column("ingest.pipelines", ("ip", "ingestPipelines"), "The number of pipelines referencing the model", True,
           lambda r: r.pipelines, right=True),
    Column("ingest.count", ("ic", "ingestCount"), "The total number of docs processed by the model", False,
           lambda r: 0, right=True),
    Column("ingest.time", ("it", "ingestTime"), "The total time spent processing docs with this model", False,
           lambda r: 0, right=True),
    Column("ingest.current", ("icurr", "ingestCurrent"), "The total documents currently being handled by the model",
           False, lambda r: 0, right=True),
    Column("ingest.failed", ("if", "ingestFailed"), "The total count of failed ingest attempts with this model",
           False, lambda r: 0, right=True),
    Column("data_frame.id", ("dfid", "dataFrameAnalytics"), "The data frame analytics config id that created the "
           "model (if still available)", True, lambda r: "__none__"),
    Column("data_frame.create_time", ("dft", "dataFrameAnalyticsTime"), "The time the data frame analytics config "
           "was created", False, lambda r: None),
    Column("data_frame.source_index", ("dfsi", "dataFrameAnalyticsSrcIndex"), "The source index used to train in "
           "the data frame analysis", False, lambda r: None),
    Column("data_frame.analysis", ("dfa", "dataFrameAnalyticsAnalysis"), "The analysis used by the data frame to "
           "build the model", False, lambda r: None),
]


def _iso_millis(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


async def _cat(request: web.Request, expression: str | None) -> web.Response:
    query = Query(request, (*CAT_PARAMS, *LIST_PARAMS))
    cluster = cluster_of(request)
    models = expand_models(cluster.state, expression, query.bool("allow_no_match", True))
    start, size = query.page()
    rows = [
        Row(m, pipeline_count(cluster.state, m.model_id), _iso_millis(m.create_time_ms))
        for m in models[start : start + size]
    ]
    return render_table(request, COLUMNS, rows, extra=LIST_PARAMS)


@routes.get("/_cat/ml/trained_models")
async def cat_all(request: web.Request) -> web.Response:
    return await _cat(request, None)


@routes.get("/_cat/ml/trained_models/{model_id}")
async def cat_models(request: web.Request) -> web.Response:
    return await _cat(request, request.match_info["model_id"])
