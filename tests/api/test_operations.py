"""Operations: liveness, readiness, Prometheus metrics, the OpenAPI document, and no torch in the API process."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from contracts.spec import CANONICAL_EXAMPLE
from tests.api.helpers import assert_error
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_with_a_working_database_and_broker(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_readyz_names_an_unreachable_broker_without_saying_where_it_is(settings):
    app = create_app(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))

    with TestClient(app) as client:
        response = client.get("/readyz")

    error = assert_error(response, 503, "not_ready")
    assert error["message"] == "not ready: broker: unavailable"
    assert error["details"] == [{"field": "broker", "message": "unavailable"}]
    assert "127.0.0.1" not in response.text and "redis" not in response.text.lower()


def test_readyz_names_an_unreachable_database_without_saying_where_it_is(settings):
    port = free_port()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere"
    app = create_app(settings.model_copy(update={"database_url": url}))

    with TestClient(app) as client:
        response = client.get("/readyz")

    error = assert_error(response, 503, "not_ready")
    assert error["message"] == "not ready: database: unavailable"
    assert error["details"] == [{"field": "database", "message": "unavailable"}]
    assert not any(leak in response.text for leak in ("127.0.0.1", str(port), "postgres", "nowhere"))


def _samples(client: TestClient, operator: dict[str, str]) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    response = client.get("/metrics", headers=operator)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(response.text)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def test_metrics_count_requests_by_route_template_and_jobs_by_status(client, alice, submit, operator):
    before = _samples(client, operator)
    job = submit()
    client.get(f"/v1/jobs/{job['id']}", headers=alice)
    client.get("/v1/nowhere")

    after = _samples(client, operator)

    request = (("method", "GET"), ("route", "/v1/jobs/{job_id}"), ("status", "200"))
    assert after[("bnlab_http_requests_total", request)] == 1
    assert after[("bnlab_http_request_duration_seconds_count", request)] == 1
    assert after[("bnlab_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    queued = ("bnlab_jobs", (("status", "queued"),))
    assert after[queued] == before[queued] + 1
    assert after[("bnlab_queue_depth", ())] >= 0


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "Bearer ", "Basic b3BlcmF0b3I6dG9rZW4="], ids=str
)
def test_metrics_without_the_operators_token_is_401(client, alice, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/metrics", headers=headers)

    assert "BNLAB_METRICS_TOKEN" in assert_error(response, 401, "unauthorized")["message"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert "bnlab_jobs" not in response.text
    assert_error(client.get("/metrics", headers=alice), 401, "unauthorized")  # a tenant's key is no operator's token


def test_metrics_are_off_without_a_configured_token(settings, operator):
    app = create_app(settings.model_copy(update={"metrics_token": None}))

    with TestClient(app) as client:
        response = client.get("/metrics", headers=operator)

    assert "set BNLAB_METRICS_TOKEN" in assert_error(response, 404, "metrics_off")["message"]
    assert "bnlab_jobs" not in response.text


def test_openapi_documents_the_canonical_example_and_the_bearer_key(client):
    schema = client.get("/openapi.json").json()

    body = schema["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["canonical"]["value"] == CANONICAL_EXAMPLE
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `bnlab keys create --name NAME` (it starts with bnl_).",
    }
    operations = [(path, operation) for path, item in schema["paths"].items() for operation in item.values()]
    for path, operation in operations:
        assert operation.get("description") and operation.get("summary"), path
        assert all(parameter.get("description") for parameter in operation.get("parameters", [])), path
        assert (operation.get("security") == [{"ApiKey": []}]) == path.startswith("/v1"), path
        assert (operation.get("security") == [{"MetricsToken": []}]) == (path == "/metrics"), path
        error_statuses = [status for status in operation["responses"] if status >= "400"]
        for status in error_statuses:
            assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (path, status)
    assert client.get("/docs").status_code == 200


def test_every_field_of_the_apis_own_schemas_is_described(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    own = ["Error", "ErrorBody", "ErrorDetail", "JobOut", "JobPage", "MetricsOut", "CompareOut", "ComparedJob"]
    own += ["SpecDifference", "AlignedSeries", "Liveness", "Readiness"]

    undescribed = [
        f"{name}.{field}"
        for name in own
        for field, spec in schemas[name]["properties"].items()
        if not spec.get("description")
    ]
    assert undescribed == []


def test_the_api_never_imports_torch_bn_or_worker(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        from fastapi.testclient import TestClient
        from api.app import create_app
        from contracts.settings import Settings
        from contracts.spec import CANONICAL_EXAMPLE
        from store import ApiKeyRepository, get_engine, make_session_factory, session_scope
        from store.migrate import upgrade

        url = "sqlite:///{tmp_path}/bnlab.sqlite"
        upgrade(url)
        with session_scope(make_session_factory(get_engine(url))) as session:
            _, key = ApiKeyRepository(session).create("test")
        headers = {{"Authorization": "Bearer " + key}}
        settings = Settings(database_url=url, broker_url="memory://", data_dir="{tmp_path}", metrics_token="t")
        app = create_app(settings, enqueuer=print)
        with TestClient(app) as client:
            job = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers).json()
            for path in ("/v1/jobs", "/v1/jobs/" + job["id"], "/v1/jobs/" + job["id"] + "/metrics"):
                assert client.get(path, headers=headers).status_code == 200, path
            assert client.get("/metrics", headers={{"Authorization": "Bearer t"}}).status_code == 200
        print(sorted({{name.split(".")[0] for name in sys.modules}} & {{"torch", "bn", "worker"}}))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)

    assert result.stdout.strip().splitlines()[-1] == "[]"
