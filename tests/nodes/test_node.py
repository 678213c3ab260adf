import simpy

from nodes.node import MlNode
from nodes.resources import NodeSpec
from nodes.timing import NodeTiming

TIMING = NodeTiming(process_start_seconds=2, load_bandwidth_bytes_per_second=100, resize_seconds=1, stop_seconds=3)


class Recorder:
    def __init__(self, env):
        self.env = env
        self.calls = []

    def route_started(self, node_id, deployment_id):
        self.calls.append((self.env.now, "started", deployment_id))

    def route_failed(self, node_id, deployment_id, reason):
        self.calls.append((self.env.now, "failed", deployment_id, reason))

    def route_resized(self, node_id, deployment_id, allocations):
        self.calls.append((self.env.now, "resized", deployment_id, allocations))

    def route_stopped(self, node_id, deployment_id):
        self.calls.append((self.env.now, "stopped", deployment_id))


def make_node():
    env = simpy.Environment()
    recorder = Recorder(env)
    return env, recorder, MlNode(env, "n1", NodeSpec(name="n1"), TIMING, recorder)


def test_load_takes_process_start_plus_bytes_over_bandwidth():
    env, recorder, node = make_node()
    node.load("d", 500)
    env.run()
    assert recorder.calls == [(7.0, "started", "d")]


def test_injected_failure_hits_the_named_deployment_the_given_number_of_times():
    env, recorder, node = make_node()
    node.inject_load_failure("boom", deployment_id="d", times=1)
    node.load("other", 0)
    node.load("d", 0)
    env.run()
    node.load("d", 0)
    env.run()
    assert recorder.calls == [(2.0, "started", "other"), (2.0, "failed", "d", "boom"), (4.0, "started", "d")]


def test_stop_during_load_supersedes_it():
    env, recorder, node = make_node()
    node.load("d", 1000)
    env.run(until=1)
    node.stop("d")
    env.run()
    assert recorder.calls == [(4.0, "stopped", "d")]


def test_resize_reports_the_new_count():
    env, recorder, node = make_node()
    node.resize("d", 3)
    env.run()
    assert recorder.calls == [(1.0, "resized", "d", 3)]


def test_crash_ends_everything_silently():
    env, recorder, node = make_node()
    node.load("a", 0)
    node.stop("b")
    node.crash()
    env.run()
    assert recorder.calls == []
