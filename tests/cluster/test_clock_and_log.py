"""Clock modes, awaitable conditions, the bounded event log and determinism."""

import asyncio
import io
import math

import pytest
import simpy

from cluster.cluster import Cluster
from cluster.clock import SimClock
from cluster.errors import MlError
from cluster.events import EventLog
from cluster.requests import StartRequest
from cluster.settings import ClusterSettings
from nodes.timing import NodeTiming

from .conftest import LOAD_SECONDS, MODEL_BYTES


def scenario(seed: int) -> str:
    cluster = Cluster(seed=seed)
    nodes = [cluster.add_node(f"ml-{i}", processors=4, zone=f"z{i % 2}") for i in range(3)]
    for i in range(3):
        cluster.add_pytorch_model(f"m{i}", MODEL_BYTES * (i + 1))
        cluster.start_deployment(f"m{i}", number_of_allocations=2 + i)
    cluster.crash_node(nodes[0])
    cluster.run_until(cluster.fully_allocated(), timeout=120)
    cluster.remove_node(nodes[1])
    cluster.advance(60)
    out = io.StringIO()
    cluster.log.write_jsonl(out)
    return out.getvalue()


def test_same_inputs_and_seed_give_a_byte_identical_log():
    first, second = scenario(3), scenario(3)
    assert first == second and len(first.splitlines()) > 20
    assert scenario(4) != first  # node ids come from the seed


def test_virtual_wait_answers_at_once_with_the_right_simulated_time():
    cluster = Cluster(clock="virtual")
    cluster.add_node("n")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    assignment = cluster.deployments.start(StartRequest("m"))

    async def wait():
        return await cluster.deployments.wait_for_start("m", "started", timeout=30)

    assert asyncio.run(wait()) is assignment
    assert cluster.now == LOAD_SECONDS


def test_virtual_wait_times_out_at_the_simulated_deadline():
    cluster = Cluster(ClusterSettings(timing=NodeTiming(process_start_seconds=60)), clock="virtual")
    cluster.add_node("n")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.deployments.start(StartRequest("m"))

    async def wait():
        await cluster.deployments.wait_for_start("m", "started", timeout=5)

    with pytest.raises(MlError) as caught:
        asyncio.run(wait())
    assert caught.value.status == 408
    assert caught.value.error_type == "model_deployment_timeout_exception"
    assert caught.value.reason.startswith("Timed out after [5s] waiting for trained model deployment [m] to start.")
    assert cluster.now == 5


def test_realtime_clock_advances_with_the_wall_clock_times_speed():
    cluster = Cluster(clock="realtime", speed=10_000)
    cluster.add_node("n")
    cluster.add_pytorch_model("m", MODEL_BYTES)
    cluster.deployments.start(StartRequest("m"))

    async def wait():
        driver = asyncio.create_task(cluster.clock.drive_realtime())
        try:
            return await cluster.deployments.wait_for_start("m", "started", timeout=30)
        finally:
            driver.cancel()

    assert asyncio.run(wait()).state == "started"
    assert cluster.now >= LOAD_SECONDS


def test_advance_processes_events_at_the_boundary_and_stands_there():
    env = simpy.Environment()
    clock = SimClock(env, "virtual")
    fired = []
    env.process((lambda: (yield env.timeout(2)) or fired.append(env.now))())
    clock.advance(2)
    assert fired == [2] and clock.now == 2
    clock.advance(0)
    assert clock.now == 2
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_run_until_with_nothing_left_and_no_deadline_returns_false_without_moving():
    clock = SimClock(simpy.Environment(), "experiment")
    assert clock.run_until(lambda: False, math.inf) is False and clock.now == 0


def test_timestamps_are_the_epoch_plus_simulated_time():
    clock = SimClock(simpy.Environment(), epoch_ms=1_667_389_834_766)
    assert clock.iso() == "2022-11-02T11:50:34.766000Z"
    clock.advance(1.5)
    assert clock.millis() == 1_667_389_836_266


def test_event_log_is_bounded_but_keeps_counting():
    log = EventLog(lambda: 0.0, capacity=3)
    for i in range(5):
        log.append("tick", "test", i=i)
    assert len(log) == 3 and log.next_seq == 5
    assert [e.seq for e in log.since(0)] == [2, 3, 4]
    assert [e.seq for e in log.since(4)] == [4]
    assert log.since(5) == []
    out = io.StringIO()
    log.write_jsonl(out, since=4)
    assert out.getvalue() == '{"cause":"test","event":"tick","i":4,"seq":4,"time":0.0}\n'
