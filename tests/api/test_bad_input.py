"""Bad input: each mistake a 4xx in the one error shape with a message, and nothing written."""

import json

import pytest

from api.body_limit import MAX_BODY_BYTES
from store import MAX_CURSOR_LENGTH
from tests.api.helpers import assert_error, canonical, job_count
from tests.store.cursors import crafted_cursor

MISSING = "00000000-0000-4000-8000-000000000000"


def _json(spec: dict) -> bytes:
    """The spec as a request body."""
    return json.dumps(spec).encode()


# (body bytes, status, error code, the field the first detail names or None)
BAD_BODIES = {
    "malformed JSON": (b'{"name": ', 422, "invalid_json", "body"),
    "not an object": (b"[1, 2]", 422, "validation_error", "body"),
    "empty": (b"", 422, "validation_error", "body"),
    "wrong type": (_json(canonical(training__steps="many")), 422, "validation_error", "body.training.steps"),
    "wrong type in a list": (
        _json(canonical(model__hidden=[100, "wide"])),
        422,
        "validation_error",
        "body.model.hidden[1]",
    ),
    "unknown field": (_json({**canonical(), "trainig": {}}), 422, "validation_error", "body.trainig"),
    "unknown nested field": (_json(canonical(optimizer__learning_rate=0.1)), 422, "validation_error", None),
    "unknown norm": (_json(canonical(model__norm="bn")), 422, "validation_error", "body.model.norm"),
    "huge steps": (_json(canonical(training__steps=10**12)), 422, "validation_error", "body"),
    "huge width": (_json(canonical(model__hidden=[10**9])), 422, "validation_error", "body"),
    "huge lr": (_json(canonical(optimizer__lr=1e300)), 422, "validation_error", "body.optimizer.lr"),
    "huge seed": (_json(canonical(training__seed=2**63)), 422, "validation_error", "body.training.seed"),
    "float overflow": (b'{"optimizer": {"lr": 1e999}}', 422, "validation_error", "body.optimizer.lr"),
    "integer of 5000 digits": (b'{"training": {"seed": 1' + b"0" * 5000 + b"}}", 400, "bad_request", None),
    "negative steps": (_json(canonical(training__steps=-1)), 422, "validation_error", "body.training.steps"),
    "negative lr": (_json(canonical(optimizer__lr=-0.1)), 422, "validation_error", "body.optimizer.lr"),
    "zero batch size": (_json(canonical(training__batch_size=0)), 422, "validation_error", "body.training.batch_size"),
    "NaN token": (b'{"optimizer": {"lr": NaN}}', 422, "validation_error", "body.optimizer.lr"),
    "NaN string": (_json(canonical(optimizer__lr="NaN")), 422, "validation_error", "body.optimizer.lr"),
    "Infinity token": (b'{"model": {"init": {"std": Infinity}}}', 422, "validation_error", "body.model.init.std"),
    "NUL in the name": (_json(canonical(name="a\u0000b")), 422, "validation_error", "body.name"),
    "name too long": (_json(canonical(name="x" * 201)), 422, "validation_error", "body.name"),
    "lone surrogate in a tag": (b'{"tags": ["ok", "\\ud800"]}', 422, "validation_error", "body.tags[1]"),
    "lone surrogate in the name": (b'{"name": "a\\udfffb"}', 422, "validation_error", "body.name"),
    "lone surrogate in a key": (b'{"model": {"\\ud800": 1}}', 422, "validation_error", None),
    "UTF-8 of a surrogate": (b'{"tags": ["\xed\xa0\x80"]}', 422, "validation_error", None),
    "groups not dividing": (
        _json(canonical(model__norm="groupnorm", model__norm_options={"groups": 7})),
        422,
        None,
        None,
    ),
}


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_job_spec_is_refused_and_nothing_is_written(client, alice, sessions, enqueued, body, status, code, field):
    before = job_count(sessions)

    response = client.post("/v1/jobs", content=body, headers={**alice, "Content-Type": "application/json"})

    error = assert_error(response, status, code)
    if field is not None:
        assert error["details"][0]["field"] == field
    assert job_count(sessions) == before and enqueued == []


def test_a_body_not_sent_as_json_is_refused(client, alice, sessions):
    before = job_count(sessions)

    response = client.post("/v1/jobs", content=_json(canonical()), headers={**alice, "Content-Type": "text/plain"})

    assert "application/json" in assert_error(response, 422)["message"]
    assert job_count(sessions) == before


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_an_oversized_body_is_413(client, alice, sessions, chunked):
    before = job_count(sessions)
    body = _json(canonical(name="x" * (MAX_BODY_BYTES + 1)))
    content = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body

    response = client.post("/v1/jobs", content=content, headers={**alice, "Content-Type": "application/json"})

    assert str(MAX_BODY_BYTES) in assert_error(response, 413, "body_too_large")["message"]
    assert job_count(sessions) == before


@pytest.mark.parametrize("body", [b'{"name": "a\\ud800"}', b'{"tags": ["\\udfff"]}', b'{"name": "\xed\xa0\x80"}'])
def test_a_lone_surrogate_is_refused_saying_so(client, alice, body):
    response = client.post("/v1/jobs", content=body, headers={**alice, "Content-Type": "application/json"})

    assert "lone surrogates (U+D800 to U+DFFF)" in assert_error(response, 422, "validation_error")["message"]


@pytest.mark.parametrize("key", [b"k" * 201, b"a\x00b", b"tab\there", b"\x7f"], ids=["overlong", "NUL", "tab", "DEL"])
def test_an_idempotency_key_that_is_too_long_or_not_printable_is_refused(client, alice, sessions, key):
    before = job_count(sessions)

    response = client.post("/v1/jobs", json=canonical(), headers={**alice, "Idempotency-Key": key})

    assert assert_error(response, 422)["details"][0]["field"] == "header.idempotency-key"
    assert job_count(sessions) == before


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+23:59", "2026-01-01T00:00:00"],
    ids=["before year 1 in UTC", "after year 9999 in UTC", "an extreme offset", "no offset"],
)
def test_a_cursor_whose_time_has_no_utc_position_is_400(client, alice, moment):
    cursor = crafted_cursor("-created_at", moment, MISSING)

    assert_error(client.get("/v1/jobs", params={"cursor": cursor}, headers=alice), 400, "invalid_cursor")


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999-00:00"])
def test_a_cursor_at_the_ends_of_time_is_a_page(client, alice, submit, moment):
    submit()
    cursor = crafted_cursor("-created_at", moment, MISSING)

    response = client.get("/v1/jobs", params={"cursor": cursor}, headers=alice)

    assert response.status_code == 200
    assert len(response.json()["items"]) == (0 if moment.startswith("0001") else 1)


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("limit=0", 422, "query.limit"),
        ("limit=201", 422, "query.limit"),
        ("limit=ten", 422, "query.limit"),
        ("status=done", 422, "query.status"),
        ("norm=bn", 422, "query.norm"),
        ("study_id=42", 422, "query.study_id"),
        ("tag=a%00b", 422, "query.tag"),
        ("colour=red", 422, "query.colour"),
        ("cursor=not-a-cursor", 400, None),
        (f"cursor={'A' * (MAX_CURSOR_LENGTH + 1)}", 422, "query.cursor"),
        ("sort=colour", 422, "query.sort"),
        ("sort=--lr", 422, "query.sort"),
        ("sort=LR", 422, "query.sort"),
        ("sort=id", 422, "query.sort"),
    ],
)
def test_bad_list_parameters_are_refused(client, alice, query, status, field):
    error = assert_error(client.get(f"/v1/jobs?{query}", headers=alice), status)

    assert field is None or error["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("max_points=1", "query.max_points"),
        ("max_points=100000000000000000000", "query.max_points"),
        ("step_min=-1", "query.step_min"),
        ("step_max=99999999999", "query.step_max"),
        ("names=a%00b", "query.names[0]"),
        ("names=" + "n" * 201, "query.names[0]"),
    ],
)
def test_bad_metrics_parameters_are_refused(client, alice, submit, query, field):
    job = submit()

    error = assert_error(client.get(f"/v1/jobs/{job['id']}/metrics?{query}", headers=alice), 422)

    assert error["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/jobs/{id}"),
        ("GET", "/v1/jobs/{id}/metrics"),
        ("GET", "/v1/jobs/{id}/events"),
        ("POST", "/v1/jobs/{id}/cancel"),
        ("DELETE", "/v1/jobs/{id}"),
    ],
)
@pytest.mark.parametrize(
    ("job_id", "status"), [(MISSING, 404), ("42", 422), ("not-a-uuid", 422), ("%00", 422)], ids=str
)
def test_ids_that_do_not_exist_or_are_not_uuids(client, alice, method, path, job_id, status):
    error = assert_error(client.request(method, path.format(id=job_id), headers=alice), status)

    assert status == 404 or error["details"][0]["field"] == "path.job_id"


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/v2/jobs", 404), ("PUT", "/v1/jobs", 405)])
def test_unknown_routes_and_methods_answer_in_the_error_shape(client, alice, method, path, status):
    assert "/docs" in assert_error(client.request(method, path, headers=alice), status)["message"]
