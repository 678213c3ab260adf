"""`mlsim serve --users FILE`: Basic auth and API keys, refused in each dialect's words,
through the official clients; `/_sim` needs a superuser; an open host without users warns."""

from __future__ import annotations

import base64
from typing import AsyncIterator

import aiohttp
import pytest
from elasticsearch import AsyncElasticsearch, AuthenticationException, AuthorizationException
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import AuthenticationException as OsAuthenticationException
from opensearchpy.exceptions import AuthorizationException as OsAuthorizationException

from api.app import create_app
from api.cli import main
from api.durability.recorder import Recorder, install
from api.security import installer
from api.security.actions import action_of
from api.security.options import warn_if_open
from api.security.users import parse_users
from cluster.cluster import Cluster
from cluster.demo import NER_MODEL, build_demo
from cluster.opensearch.demo import build_opensearch_demo
from tests.conftest import served

USERS = parse_users({
    "users": {
        "elastic": {"password": "changeme", "roles": ["superuser"]},
        "admin": {"password": "admin-pw", "roles": ["machine_learning_admin"]},
        "user": {"password": "user-pw", "roles": ["machine_learning_user"]},
        "reader": {"password": "reader-pw", "roles": ["ml_reader"]},
        "osfull": {"password": "osfull-pw", "roles": ["ml_full_access"]},
        "osread": {"password": "osread-pw", "roles": ["ml_read_access"]},
        "osold": {"password": "osold-pw", "roles": ["ml_readonly_access"]},
    },
    "roles": {"ml_reader": {"cluster": ["monitor_ml"]}},
    "api_keys": {"key-1": {"key": "key-secret", "user": "user"}},
})
FLIGHT = "flight-delay-prediction-1574775339910"


@pytest.fixture
def cluster() -> Cluster:
    cluster = Cluster(clock="virtual")
    build_demo(cluster)
    build_opensearch_demo(cluster.ml_commons)
    return cluster


@pytest.fixture
async def port(cluster: Cluster) -> AsyncIterator[int]:
    async with served(cluster, [installer(USERS)]) as port:
        yield port


def es(port: int, **auth) -> AsyncElasticsearch:
    return AsyncElasticsearch(f"http://127.0.0.1:{port}", **auth)


def opensearch(port: int, auth: tuple[str, str] | None) -> AsyncOpenSearch:
    return AsyncOpenSearch(hosts=[{"host": "127.0.0.1", "port": port}], http_auth=auth, use_ssl=False)


async def test_no_credentials_is_401_with_the_challenges(port: int) -> None:
    async with es(port) as client:
        with pytest.raises(AuthenticationException) as caught:
            await client.ml.get_trained_models_stats()
    error = caught.value.body["error"]
    assert caught.value.meta.status == 401
    assert error["type"] == "security_exception"
    assert error["reason"] == "missing authentication credentials for REST request [/_ml/trained_models/_stats]"
    assert error["header"] == {"WWW-Authenticate": ['Basic realm="security", charset="UTF-8"', "ApiKey"]}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/_ml/trained_models?size=1") as answer:
            assert answer.status == 401
            assert answer.headers.getall("WWW-Authenticate") == ['Basic realm="security", charset="UTF-8"', "ApiKey"]
            body = await answer.json()
    assert body["error"]["reason"] == "missing authentication credentials for REST request [/_ml/trained_models?size=1]"


async def test_a_wrong_password_or_unknown_user_is_401(port: int) -> None:
    for user in ("admin", "nobody"):
        async with es(port, basic_auth=(user, "wrong")) as client:
            with pytest.raises(AuthenticationException) as caught:
                await client.ml.get_trained_models()
        assert caught.value.body["error"]["reason"] == f"unable to authenticate user [{user}] for REST request [/_ml/trained_models]"


async def test_machine_learning_user_reads_but_cannot_start(port: int, cluster: Cluster) -> None:
    async with es(port, basic_auth=("user", "user-pw")) as client:
        assert (await client.ml.get_trained_models(model_id=FLIGHT))["count"] == 1
        with pytest.raises(AuthorizationException) as caught:
            await client.ml.start_trained_model_deployment(model_id=FLIGHT)
    assert caught.value.meta.status == 403
    assert caught.value.body["error"]["type"] == "security_exception"
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/ml/trained_models/deployment/start] is unauthorized for user [user] with "
        "effective roles [machine_learning_user], this action is granted by the cluster privileges "
        "[manage_inference,manage_ml,manage,all]"
    )
    assert FLIGHT not in cluster.state.assignments


async def test_machine_learning_admin_manages_models_but_not_pipelines_or_sim(port: int, cluster: Cluster) -> None:
    async with es(port, basic_auth=("admin", "admin-pw")) as client:
        before = cluster.now
        await client.ml.put_trained_model_alias(model_id=FLIGHT, model_alias="fd")
        updated = await client.ml.update_trained_model_deployment(model_id=NER_MODEL, number_of_allocations=2)
        assert updated["assignment"]["task_parameters"]["number_of_allocations"] == 2
        with pytest.raises(AuthorizationException) as caught:
            await client.ingest.put_pipeline(id="p", processors=[])
        assert caught.value.body["error"]["reason"] == (
            "action [cluster:admin/ingest/pipeline/put] is unauthorized for user [admin] with effective roles "
            "[machine_learning_admin], this action is granted by the cluster privileges "
            "[manage_ingest_pipelines,manage_pipeline,manage,all]"
        )
        with pytest.raises(AuthorizationException) as caught:
            await client.perform_request("POST", "/_sim/clock/_advance", body={"seconds": 5},
                                         headers={"content-type": "application/json", "accept": "application/json"})
        assert caught.value.body["error"]["reason"] == (
            "action [cluster:admin/mlsim/clock/advance] is unauthorized for user [admin] with effective roles "
            "[machine_learning_admin]"
        )
        with pytest.raises(AuthorizationException) as caught:
            await client.info()
        assert caught.value.body["error"]["reason"].endswith("granted by the cluster privileges [monitor,manage,all]")
    assert cluster.now == before  # the refused advance did not run
    async with es(port, basic_auth=("elastic", "changeme")) as client:
        clock = await client.perform_request("POST", "/_sim/clock/_advance", body={"seconds": 5},
                                             headers={"content-type": "application/json", "accept": "application/json"})
        assert clock["now"] == cluster.now
        assert (await client.info())["cluster_name"] == "mlsim"


async def test_a_custom_role_with_monitor_ml_reads_and_is_refused_writes(port: int) -> None:
    async with es(port, basic_auth=("reader", "reader-pw")) as client:
        assert (await client.ml.get_trained_models_stats(model_id=NER_MODEL))["count"] == 1
        with pytest.raises(AuthorizationException) as caught:
            await client.ml.delete_trained_model(model_id=FLIGHT)
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/ml/inference/delete] is unauthorized for user [reader] with effective roles "
        "[ml_reader], this action is granted by the cluster privileges [manage_ml,manage,all]"
    )


async def test_api_keys_authenticate_and_are_named_in_refusals(port: int) -> None:
    async with es(port, api_key=("key-1", "key-secret")) as client:
        assert (await client.ml.get_trained_models(model_id=FLIGHT))["count"] == 1
        with pytest.raises(AuthorizationException) as caught:
            await client.ml.put_trained_model_alias(model_id=FLIGHT, model_alias="fd")
    assert caught.value.body["error"]["reason"] == (
        "action [cluster:admin/xpack/ml/inference/model_aliases/put] is unauthorized for API key id [key-1] of "
        "user [user], this action is granted by the cluster privileges [manage_ml,manage,all]"
    )
    async with es(port, api_key=("key-1", "wrong")) as client:
        with pytest.raises(AuthenticationException):
            await client.ml.get_trained_models()


async def test_opensearch_answers_401_as_the_security_plugin(port: int) -> None:
    async with opensearch(port, None) as client:
        with pytest.raises(OsAuthenticationException) as caught:
            await client.transport.perform_request("GET", "/_plugins/_ml/models/_search", body={"query": {"match_all": {}}})
    assert caught.value.status_code == 401
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/_plugins/_ml/stats") as answer:
            assert answer.status == 401
            assert answer.headers["WWW-Authenticate"] == 'Basic realm="OpenSearch Security"'
            assert await answer.text() == "Unauthorized"


@pytest.mark.parametrize("user", ["osread", "osold"])
async def test_ml_read_access_searches_models_but_cannot_register(port: int, user: str) -> None:
    async with opensearch(port, (user, f"{user}-pw")) as client:
        found = await client.transport.perform_request("POST", "/_plugins/_ml/models/_search", body={"query": {"match_all": {}}})
        assert found["hits"]["total"]["value"] > 0
        with pytest.raises(OsAuthorizationException) as caught:
            await client.transport.perform_request("POST", "/_plugins/_ml/model_groups/_register", body={"name": "g"})
    assert caught.value.status_code == 403
    assert caught.value.info["error"]["reason"] == (
        "no permissions for [cluster:admin/opensearch/ml/register_model_group] and User "
        f"[name={user}, backend_roles=[], requestedTenant=null]"
    )


async def test_ml_full_access_registers_but_cannot_write_documents(port: int) -> None:
    async with opensearch(port, ("osfull", "osfull-pw")) as client:
        created = await client.transport.perform_request("POST", "/_plugins/_ml/model_groups/_register", body={"name": "g"})
        assert created["status"] == "CREATED"
        with pytest.raises(OsAuthorizationException) as caught:
            await client.index(index="stopwords", id="1", body={"title": "x"})
        assert caught.value.info["error"]["reason"] == (
            "no permissions for [indices:data/write/index] and User [name=osfull, backend_roles=[], requestedTenant=null]"
        )
    async with opensearch(port, ("elastic", "changeme")) as client:
        assert (await client.index(index="stopwords", id="1", body={"title": "x"}))["result"] == "created"


async def test_refused_requests_are_not_recorded(cluster: Cluster) -> None:
    recorder = Recorder(cluster, {}, [])
    app = create_app(cluster, [installer(USERS), lambda app: install(app, recorder)])
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/_ml/trained_models/{FLIGHT}/model_aliases/fd"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.put(url) as answer:
                assert answer.status == 401
            token = base64.b64encode(b"admin:admin-pw").decode()
            async with session.put(url, headers={"Authorization": f"Basic {token}"}) as answer:
                assert answer.status == 200
    finally:
        await runner.cleanup()
    assert [(e["method"], e["path"]) for e in recorder.entries] == [("PUT", f"/_ml/trained_models/{FLIGHT}/model_aliases/fd")]


def test_every_route_has_an_action(cluster: Cluster) -> None:
    app = create_app(cluster)
    missing = [
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if action_of(route.method, route.resource.canonical) is None
    ]
    assert missing == []


def test_an_open_host_without_users_warns(capsys) -> None:
    warn_if_open("127.0.0.1", None)
    warn_if_open("::1", None)
    warn_if_open("0.0.0.0", USERS)
    assert capsys.readouterr().err == ""
    warn_if_open("0.0.0.0", None)
    assert "warning: listening on 0.0.0.0 without --users" in capsys.readouterr().err


def test_a_bad_users_file_exits_2_with_one_line(tmp_path, capsys) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"users": {"u": {"password": "", "roles": []}}}')
    assert main(["serve", "--users", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"mlsim serve: {path}: users.u.password: must be a non-empty string\n"
