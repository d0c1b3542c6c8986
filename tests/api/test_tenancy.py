"""Auth and tenancy: every /v1 route needs a valid key, and another tenant's job is 404 on every route."""

import pytest

from contracts.spec import CANONICAL_EXAMPLE
from store import ApiKeyRepository, session_scope
from tests.api.helpers import assert_error

MISSING = "00000000-0000-4000-8000-000000000000"

# (method, path template): {id} is the job under test, {other} one of the caller's own jobs.
JOB_ROUTES = [
    ("GET", "/v1/jobs/{id}"),
    ("GET", "/v1/jobs/{id}/metrics"),
    ("GET", "/v1/jobs/{id}/events"),
    ("POST", "/v1/jobs/{id}/cancel"),
    ("DELETE", "/v1/jobs/{id}"),
    ("GET", "/v1/compare?ids={other},{id}"),
]
ALL_ROUTES = [("POST", "/v1/jobs"), ("GET", "/v1/jobs"), *JOB_ROUTES]


@pytest.mark.parametrize(("method", "path"), JOB_ROUTES)
def test_another_tenants_job_is_404_like_a_missing_one(client, alice, bob, submit, method, path):
    job = submit()
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)  # finished: a route ignoring tenancy would succeed
    own = submit(bob)

    theirs = client.request(method, path.format(id=job["id"], other=own["id"]), headers=bob)
    missing = client.request(method, path.format(id=MISSING, other=own["id"]), headers=bob)

    assert assert_error(theirs, 404, "not_found")["message"] == assert_error(missing, 404)["message"].replace(
        MISSING, job["id"]
    )
    after = client.get(f"/v1/jobs/{job['id']}", headers=alice).json()
    assert {key: after[key] for key in ("status", "cancel_requested")} == {
        "status": "cancelled",
        "cancel_requested": False,
    }


def test_listing_shows_only_the_callers_jobs(client, alice, bob, submit):
    submit()
    mine = submit(bob)

    assert [job["id"] for job in client.get("/v1/jobs", headers=bob).json()["items"]] == [mine["id"]]


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_needs_a_key(client, submit, method, path):
    job = submit()

    response = client.request(method, path.format(id=job["id"], other=job["id"]), json=CANONICAL_EXAMPLE)

    assert "Bearer" in assert_error(response, 401, "unauthorized")["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer bnl_not-a-key", "Bearer ", "Basic dXNlcjpwYXNz", "bnl_no-scheme", "revoked"],
)
def test_a_bad_or_revoked_key_is_401(client, sessions, alice, authorization):
    if authorization == "revoked":
        plaintext = alice["Authorization"].removeprefix("Bearer ")
        with session_scope(sessions) as session:
            keys = ApiKeyRepository(session)
            owner = keys.authenticate(plaintext)
            for key in keys.list(owner):
                keys.revoke(key.id)
        authorization = alice["Authorization"]

    response = client.get("/v1/jobs", headers={"Authorization": authorization})

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_second_key_of_the_same_owner_sees_the_same_jobs(client, sessions, new_key, submit, alice):
    job = submit()
    with session_scope(sessions) as session:
        owner = ApiKeyRepository(session).authenticate(alice["Authorization"].removeprefix("Bearer "))
    second = new_key(owner)

    assert client.get(f"/v1/jobs/{job['id']}", headers=second).status_code == 200
