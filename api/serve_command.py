"""`mlsim serve`: run the simulated cluster behind its REST dialects until SIGINT/SIGTERM.

The cluster is built before the server starts (settings and nodes from a cluster file, a
quick uniform shape from `--nodes`, the seeds' demo world), so a bad option exits with
status 2 and one line on stderr instead of a half-started server.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from cluster.bytesize import parse_byte_size
from cluster.clock import MAX_SPEED
from cluster.cluster import Cluster
from cluster.config import ClusterConfig, ConfigError, free_node_name, load_cluster_file, parse_node_spec
from cluster.demo import build_demo
from cluster.opensearch.demo import build_opensearch_demo
from cluster.errors import MlError
from cluster.settings import ClusterSettings

from . import security
from .app import Extension, create_app
from .durability.files import DataError
from .durability.startup import History, add_arguments as add_durability_arguments, installer, load_history
from .request_body import DEFAULT_MAX_CONTENT_LENGTH

#: Elasticsearch keeps `http.max_content_length` within a Java int.
MAX_CONTENT_LENGTH_LIMIT = 2**31 - 1

DESCRIPTION = """\
Serve a simulated Elasticsearch ML cluster: the trained-model REST APIs (/_ml/...) and the
simulator's control plane (/_sim/...) on one HTTP port.

examples:
  mlsim serve --demo                               the seeds' world on http://127.0.0.1:9200
  mlsim serve --nodes 3 --node-memory 32gb         three empty 32 GB ML nodes
  mlsim serve --cluster lab.json --clock virtual   nodes and settings from a file; time moves
                                                   only when a request waits or /_sim/clock/_advance
  mlsim serve --port 0                             any free port (the real one is printed)
"""

CLUSTER_FILE_HELP = """\
cluster file (--cluster):
  {"settings": {"cluster_name": "lab", "max_machine_memory_percent": 30,
                "awareness_attributes": ["zone"], "planner_mode": "elasticsearch",
                "timing": {"process_start_seconds": "2s", "load_bandwidth_bytes_per_second": "100mb"}},
   "nodes": [{"name": "ml-1", "machine_memory": "16gb", "allocated_processors": 8, "zone": "a"},
             {"machine_memory": "32gb", "allocated_processors": 16, "zone": "b", "jvm_size": "8gb"}]}
  Every key is optional; see README.md for the full list of fields.
"""


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the simulated cluster's REST APIs",
        description=DESCRIPTION,
        epilog=CLUSTER_FILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen = parser.add_argument_group("listening")
    listen.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    listen.add_argument("--port", type=_port, default=9200, help="TCP port; 0 picks a free one (default: %(default)s)")
    listen.add_argument(
        "--max-content-length", type=_content_length, default=DEFAULT_MAX_CONTENT_LENGTH, metavar="SIZE",
        help="largest request body, as Elasticsearch's http.max_content_length, e.g. 100mb (default: 100mb)",
    )
    time = parser.add_argument_group("simulated time")
    time.add_argument(
        "--clock", choices=("realtime", "virtual"), default="realtime",
        help="realtime: simulated time follows the wall clock x --speed; virtual: time moves only "
        "when a request waits for it or on POST /_sim/clock/_advance (default: %(default)s)",
    )
    time.add_argument(
        "--speed", type=_speed, default=None, metavar="FACTOR",
        help=f"simulated seconds per wall second, realtime clock only, at most {MAX_SPEED:g} (default: 1.0)",
    )
    world = parser.add_argument_group("cluster")
    world.add_argument(
        "--demo", action="store_true",
        help="load the seeds' world: the Elasticsearch demo models (NER started) and the OpenSearch "
        "update-model seed's models (deployed)",
    )
    world.add_argument("--cluster", metavar="FILE", help="JSON file of settings and node shapes (format below)")
    world.add_argument("--nodes", type=_non_negative_int, default=0, metavar="N", help="add N identical ML nodes")
    world.add_argument(
        "--node-memory", type=_byte_size, default=None, metavar="SIZE",
        help="machine memory of each --nodes node, e.g. 16gb (default: 16gb)",
    )
    world.add_argument(
        "--node-processors", type=_positive_float, default=None, metavar="P",
        help="allocated processors of each --nodes node (default: 8)",
    )
    world.add_argument("--seed", type=int, default=0, help="seed of the simulation's random draws (default: %(default)s)")
    add_durability_arguments(parser)
    security.options.add_arguments(parser)
    parser.set_defaults(run=lambda args: _run(parser, args))


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.speed is not None and args.clock != "realtime":
        parser.error("--speed only applies to --clock realtime")
    if (args.node_memory is not None or args.node_processors is not None) and not args.nodes:
        parser.error("--node-memory and --node-processors shape the nodes of --nodes N; give --nodes too")
    try:
        users = security.options.load(args)
        history = load_history(args)
        cluster = history.build(build_cluster, args)
    except (DataError, security.options.UsersError) as error:
        return _fail(str(error))
    except ConfigError as error:
        return _fail(f"invalid cluster file: {error}")
    security.options.warn_if_open(args.host, users)
    try:
        asyncio.run(serve(cluster, args.host, args.port, _prepare(history, args, users), args.max_content_length))
    except OSError as error:
        return _fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    return 0


def build_cluster(args: argparse.Namespace, config: ClusterConfig | None = None) -> Cluster:
    """The cluster the options describe: file settings, the demo world, file nodes, --nodes
    (`config`: the cluster file already parsed, as a snapshot holds it)."""
    if config is None:
        config = load_cluster_file(args.cluster) if args.cluster else ClusterConfig(ClusterSettings(), ())
    cluster = Cluster(config.settings, seed=args.seed, clock=args.clock, speed=args.speed or 1.0)
    if args.demo:
        build_demo(cluster)
        build_opensearch_demo(cluster.ml_commons)
    for i, spec in enumerate(config.nodes):
        try:
            cluster.membership.join(spec)
        except MlError as error:
            hint = " (the --demo world already has nodes ml-1 and ml-2)" if args.demo else ""
            raise ConfigError(f"{args.cluster}: nodes[{i}]: {error.reason}{hint}") from None
    shape = {"machine_memory": args.node_memory, "allocated_processors": args.node_processors}
    for _ in range(args.nodes):
        name = free_node_name(node.name for node in cluster.state.nodes.values())
        cluster.membership.join(parse_node_spec({k: v for k, v in shape.items() if v is not None}, name))
    if config.autoscaling is not None:  # every node present now is one of its instances
        cluster.enable_autoscaling(config.autoscaling)
    return cluster


def _prepare(history: History, args: argparse.Namespace, users: security.Users | None):
    """The extensions of the served app, after the history (if any) is replayed."""

    async def prepare(cluster: Cluster) -> list[Extension]:
        recorder = await history.restore(cluster, args.clock, args.speed)
        if history.existing:
            print(f"mlsim restored {len(history.entries)} entries, then a full cluster restart at "
                  f"{cluster.now:.3f} simulated seconds", flush=True)
        extensions = [] if users is None else [security.installer(users)]
        return [*extensions, installer(recorder)]

    return prepare


async def serve(
    cluster: Cluster,
    host: str,
    port: int,
    prepare=None,
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
) -> None:
    """Serve until SIGINT or SIGTERM, then close connections and stop the clock driver.
    `prepare(cluster)`, awaited first, gives the app's extensions."""
    extensions = await prepare(cluster) if prepare is not None else []
    runner = web.AppRunner(create_app(cluster, extensions, max_content_length), handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        print(f"mlsim listening on {_url(host, runner.addresses[0][1])} ({_describe(cluster)})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
    finally:
        await runner.cleanup()
    print("mlsim stopped", flush=True)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _describe(cluster: Cluster) -> str:
    clock = cluster.clock
    mode = f"realtime x{clock.speed}" if clock.mode == "realtime" else clock.mode
    count = len(cluster.state.nodes)
    return f"clock: {mode}, {count} ML node{'' if count == 1 else 's'}"


def _fail(message: str) -> int:
    print(f"mlsim serve: {message}", file=sys.stderr)
    return 2


def _byte_size(text: str, name: str = "--node-memory") -> int:
    try:
        return parse_byte_size(text, name)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _content_length(text: str) -> int:
    size = _byte_size(text, "--max-content-length")
    if not 0 < size <= MAX_CONTENT_LENGTH_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 byte and {MAX_CONTENT_LENGTH_LIMIT} bytes, got [{text}]")
    return size


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"[{text}] is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got [{text}]")
    return port


def _speed(text: str) -> float:
    speed = _positive_float(text)
    if speed > MAX_SPEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SPEED:g}, got [{text}]")
    return speed


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"[{text}] is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got [{text}]")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"[{text}] is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got [{text}]")
    return value
