"""`GET _cat/nodes`: one line per simulated node, ES's columns and short aliases."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from cluster.cluster import Cluster
from cluster.node_info import NODE_ROLES, node_summary

from .cat_table import Bytes, Column, render_table
from .context import cluster_of
from .http_errors import VERSION
from .es_root import BUILD

routes = web.RouteTableDef()

#: The one-letter role abbreviations `node.role` joins (ES's DiscoveryNodeRole.roleNameAbbreviation).
ROLE_LETTERS = {"data": "d", "ingest": "i", "master": "m", "ml": "l", "remote_cluster_client": "r",
                "transform": "t", "voting_only": "v"}


@dataclass(frozen=True, slots=True)
class Row:
    node_id: str
    name: str
    address: str
    heap_max: int
    ram_max: int
    ram_used: int
    processors: float
    master: bool
    uptime_ms: int


def rows(cluster: Cluster, full_id: bool) -> list[Row]:
    state = cluster.state
    out = []
    for index, node_id in enumerate(sorted(state.nodes)):
        spec = state.nodes[node_id].spec
        summary = node_summary(state, node_id)
        used = min(spec.effective_jvm_size + state.model_memory_used(node_id) + spec.other_ml_memory_bytes,
                   spec.machine_memory)
        out.append(Row(node_id if full_id else node_id[:4], summary["name"], summary["transport_address"],
                       spec.effective_jvm_size, spec.machine_memory, used, spec.allocated_processors, index == 0,
                       int(cluster.now * 1000)))
    return out


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


COLUMNS = [
    Column("id", ("nodeId",), "unique node id", False, lambda r: r.node_id),
    Column("pid", ("p",), "process id", False, lambda r: 1),
    Column("ip", ("i",), "ip address", True, lambda r: r.address.split(":")[0]),
    Column("port", ("po",), "bound transport port", False, lambda r: r.address.split(":")[1]),
    Column("http_address", ("http",), "bound http address", False, lambda r: "127.0.0.1:9200"),
    Column("version", ("v",), "es version", False, lambda r: VERSION),
    Column("build", ("b",), "es build hash", False, lambda r: BUILD["build_hash"][:7]),
    Column("jdk", ("j",), "jdk version", False, lambda r: "24"),
    Column("heap.current", ("hc", "heapCurrent"), "used heap", False, lambda r: Bytes(r.heap_max // 4), right=True),
    Column("heap.percent", ("hp", "heapPercent"), "used heap ratio", True, lambda r: 25, right=True),
    Column("heap.max", ("hm", "heapMax"), "max configured heap", False, lambda r: Bytes(r.heap_max), right=True),
    Column("ram.current", ("rc", "ramCurrent"), "used machine memory", False, lambda r: Bytes(r.ram_used), right=True),
    Column("ram.percent", ("rp", "ramPercent"), "used machine memory ratio", True,
           lambda r: _percent(r.ram_used, r.ram_max), right=True),
    Column("ram.max", ("rm", "ramMax"), "total machine memory", False, lambda r: Bytes(r.ram_max), right=True),
    Column("cpu", (), "recent cpu usage", True, lambda r: 0, right=True),
    Column("load_1m", ("l",), "1m load avg", True, lambda r: "0.00", right=True),
    Column("load_5m", (), "5m load avg", True, lambda r: "0.00", right=True),
    Column("load_15m", (), "15m load avg", True, lambda r: "0.00", right=True),
    Column("uptime", ("u",), "node uptime", False, lambda r: f"{r.uptime_ms // 1000}s", right=True),
    Column("node.role", ("r", "role", "nodeRole"), "m:master eligible node, d:data node, i:ingest node, "
           "l:machine learning node, r:remote cluster client node, -:coordinating node only", True,
           lambda r: "".join(sorted(ROLE_LETTERS[role] for role in NODE_ROLES)) or "-"),
    Column("master", ("m",), "*:current master", True, lambda r: "*" if r.master else "-"),
    Column("name", ("n",), "node name", True, lambda r: r.name),
]


@routes.get("/_cat/nodes")
async def cat_nodes(request: web.Request) -> web.Response:
    cluster = cluster_of(request)
    full_id = request.query.get("full_id") in ("", "true")
    return render_table(request, COLUMNS, rows(cluster, full_id),
                        extra=("full_id", "local", "master_timeout", "include_unloaded_segments"))
