"""Jobs over HTTP: submit (idempotently), list, get, metrics, cancel, delete."""

from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from contracts.spec import CANONICAL_EXAMPLE
from store import Job, MetricRepository, session_scope, states
from tests.api.helpers import assert_error, canonical, job_count


def test_submit_the_canonical_spec_queues_it_and_sends_it_once_after_commit(client, alice, enqueued):
    response = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)

    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "queued" and job["name"] == "fig1-sigmoid-bn" and job["tags"] == ["fig1"]
    assert job["spec"]["model"]["norm"] == "batchnorm" and job["spec"]["schedule"]["name"] == "constant"
    assert (job["progress"], job["attempts"], job["cancel_requested"], job["summary"]) == (0, 0, False, None)
    assert enqueued == [(UUID(job["id"]), "queued")]  # the enqueuer's own session found the committed row


def test_same_idempotency_key_and_body_return_the_same_job(client, alice, enqueued, sessions):
    headers = {**alice, "Idempotency-Key": "run-1"}
    first = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers)
    before = job_count(sessions)
    again = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert job_count(sessions) == before
    assert [job_id for job_id, _ in enqueued] == [UUID(first.json()["id"])]  # its message is on the broker: sent once


def test_same_idempotency_key_with_another_body_is_refused(client, alice, sessions):
    headers = {**alice, "Idempotency-Key": "run-1"}
    client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=headers)
    before = job_count(sessions)

    response = client.post("/v1/jobs", json=canonical(training__seed=1), headers=headers)

    assert "Idempotency-Key" in assert_error(response, 409, "idempotency_conflict")["message"]
    assert job_count(sessions) == before


def test_idempotency_keys_are_per_tenant(client, alice, bob):
    first = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers={**alice, "Idempotency-Key": "k"})
    other = client.post("/v1/jobs", json=canonical(training__seed=1), headers={**bob, "Idempotency-Key": "k"})

    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_get_returns_the_job(client, alice, submit):
    job = submit()

    response = client.get(f"/v1/jobs/{job['id']}", headers=alice)

    assert response.status_code == 200 and response.json() == job


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c", "b", "a"]),
        ("?status=cancelled", ["b"]),
        ("?tag=fig1", ["b", "a"]),
        ("?tag=other", ["c"]),
        ("?norm=none", ["c"]),
        ("?arch=cnn", ["b"]),
        ("?dataset=digits", ["b"]),
        ("?norm=batchnorm&status=queued", ["a"]),
        ("?arch=resnet", []),
    ],
)
def test_list_filters(client, alice, bob, submit, query, expected):
    submit(name="a")
    cancelled = submit(name="b", dataset__name="digits", model__arch="cnn")
    submit(name="c", tags=["other"], model__norm="none")
    submit(bob, name="bob's")
    client.post(f"/v1/jobs/{cancelled['id']}/cancel", headers=alice)

    response = client.get(f"/v1/jobs{query}", headers=alice)

    assert response.status_code == 200, response.text
    assert [job["name"] for job in response.json()["items"]] == expected


def test_list_by_study(client, alice, submit):
    submit()

    response = client.get("/v1/jobs?study_id=00000000-0000-4000-8000-000000000000", headers=alice)

    assert response.json() == {"items": [], "next_cursor": None}


def test_list_pages_with_a_cursor(client, alice, submit):
    for index in range(5):
        submit(name=f"job{index}")
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = client.get(f"/v1/jobs{query}", headers=alice).json()
        seen.append([job["name"] for job in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [["job4", "job3"], ["job2", "job1"], ["job0"]]


def walk(client, alice, query: dict) -> list[dict]:
    """Every job of the listing, page after page of 2, each page asked for with the previous page's cursor."""
    jobs, cursor = [], None
    for _ in range(10):
        params = {**query, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get("/v1/jobs", params=params, headers=alice)
        assert response.status_code == 200, response.text
        jobs += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return jobs
    raise AssertionError(f"the cursors of {query} go round")


SORTED_BY = {  # what each sort of the test compares, as a client reads it from a job
    "lr": lambda job: job["spec"]["optimizer"]["lr"],
    "name": lambda job: job["name"],
    "batch_size": lambda job: job["spec"]["training"]["batch_size"],
    "created_at": lambda job: job["created_at"],
}


@pytest.mark.parametrize(
    ("sort", "filters", "names"),
    [
        ("-lr", {}, "abcde"),
        ("lr", {}, "abcde"),
        ("name", {}, "abcde"),
        ("-batch_size", {"norm": "batchnorm"}, "ace"),
        ("created_at", {"status": "queued"}, "abcde"),
    ],
)
def test_list_sorted_pages_with_a_cursor(client, alice, submit, sort, filters, names):
    for name, lr, norm, batch in [("c", 0.1, "batchnorm", 60), ("b", 0.5, "none", 60), ("a", 0.01, "batchnorm", 64)]:
        submit(name=name, optimizer__lr=lr, model__norm=norm, training__batch_size=batch)
    submit(name="e", optimizer__lr=0.1, model__norm="batchnorm", training__batch_size=60)  # ties c on lr and batch
    submit(name="d", optimizer__lr=0.5, model__norm="none", training__batch_size=64)  # ties b on lr

    listed = walk(client, alice, {"sort": sort, **filters})

    key = SORTED_BY[sort.removeprefix("-")]
    expected = sorted(listed, key=lambda job: (key(job), UUID(job["id"])), reverse=sort.startswith("-"))
    assert [job["id"] for job in listed] == [job["id"] for job in expected]
    assert sorted(job["name"] for job in listed) == list(names)


def test_a_bad_sort_names_the_parameter_and_the_sorts_there_are(client, alice):
    error = assert_error(client.get("/v1/jobs?sort=accuracy", headers=alice), 422, "validation_error")

    assert error["details"][0]["field"] == "query.sort"
    assert all(f"'{sort}'" in error["details"][0]["message"] for sort in ("created_at", "-progress", "-lr", "seed"))


def test_a_cursor_of_another_sort_is_a_400(client, alice, submit):
    submit(name="a"), submit(name="b")
    cursor = client.get("/v1/jobs?sort=lr&limit=1", headers=alice).json()["next_cursor"]

    for sort in ({"sort": "-lr"}, {"sort": "name"}, {}):  # the last: the default, -created_at
        response = client.get("/v1/jobs", params={"cursor": cursor, **sort}, headers=alice)
        assert "another sort" in assert_error(response, 400, "invalid_cursor")["message"]
    assert client.get("/v1/jobs", params={"cursor": cursor, "sort": "lr"}, headers=alice).status_code == 200


def test_the_longest_cursor_is_accepted(client, alice, submit):
    for last in "ab":  # names of 200 characters of 4 bytes each in UTF-8: the longest value a cursor holds
        submit(name="\U0001f9ea" * 199 + last)
    first = client.get("/v1/jobs?sort=-name&limit=1", headers=alice).json()
    assert len(first["next_cursor"]) > 1000

    second = client.get("/v1/jobs", params={"sort": "-name", "cursor": first["next_cursor"]}, headers=alice)

    assert second.status_code == 200, second.text
    assert [job["name"][-1] for job in first["items"] + second.json()["items"]] == ["b", "a"]


def _points(sessions, job_id: str) -> None:
    """train_loss at steps 0, 10, ..., 100 (value = step) and test_acc at 0, 50, 100."""
    with session_scope(sessions) as session:
        points = [("train_loss", step, float(step)) for step in range(0, 101, 10)]
        MetricRepository(session).upsert(UUID(job_id), points + [("test_acc", step, 0.5) for step in (0, 50, 100)])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"train_loss": list(range(0, 101, 10)), "test_acc": [0, 50, 100]}),
        ("?names=test_acc", {"test_acc": [0, 50, 100]}),
        ("?names=train_loss,test_acc&step_min=20&step_max=50", {"train_loss": [20, 30, 40, 50], "test_acc": [50]}),
        ("?names=train_loss&max_points=3", {"train_loss": [0, 50, 100]}),
        ("?names=train_loss&names=nothing&max_points=2&step_max=90", {"train_loss": [0, 90]}),
        ("?names=missing", {}),
    ],
)
def test_metrics_by_names_step_range_and_max_points(client, alice, submit, sessions, query, expected):
    job = submit()
    _points(sessions, job["id"])

    response = client.get(f"/v1/jobs/{job['id']}/metrics{query}", headers=alice)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["job_id"] == job["id"]
    assert {name: [step for step, _ in points] for name, points in body["series"].items()} == expected
    assert all(value == step for step, value in body["series"].get("train_loss", []))


def test_cancel_a_queued_job_cancels_it_at_once(client, alice, submit):
    job = submit()

    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["finished_at"] is not None


def test_cancel_a_running_job_flags_it(client, alice, submit, sessions):
    job = submit()
    with session_scope(sessions) as session:
        states.claim(session, UUID(job["id"]), "test-worker", lease_s=60)

    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("running", True)


def test_cancel_a_finished_job_says_it_already_finished(client, alice, submit, sessions):
    job = submit()
    with session_scope(sessions) as session:
        states.claim(session, UUID(job["id"]), "test-worker", lease_s=60)
        states.succeed(session, UUID(job["id"]), worker="test-worker", summary={"final_test_acc": 0.9})

    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)

    assert "already finished (succeeded)" in assert_error(response, 409, "invalid_status")["message"]
    assert client.get(f"/v1/jobs/{job['id']}", headers=alice).json()["status"] == "succeeded"


def test_delete_a_finished_job_removes_it_and_its_metrics(client, alice, submit, sessions):
    job = submit()
    _points(sessions, job["id"])
    client.post(f"/v1/jobs/{job['id']}/cancel", headers=alice)

    response = client.delete(f"/v1/jobs/{job['id']}", headers=alice)

    assert response.status_code == 204 and response.content == b""
    assert_error(client.get(f"/v1/jobs/{job['id']}", headers=alice), 404, "not_found")
    with session_scope(sessions) as session:
        assert MetricRepository(session).series(UUID(job["id"])) == {}


@pytest.mark.parametrize("running", [False, True])
def test_delete_an_unfinished_job_is_refused(client, alice, submit, sessions, running):
    job = submit()
    if running:
        with session_scope(sessions) as session:
            states.claim(session, UUID(job["id"]), "test-worker", lease_s=60)

    response = client.delete(f"/v1/jobs/{job['id']}", headers=alice)

    assert "cancel it" in assert_error(response, 409, "job_not_finished")["message"]
    assert client.get(f"/v1/jobs/{job['id']}", headers=alice).status_code == 200


def test_a_failed_enqueue_still_answers_201_and_leaves_the_job_queued(settings, alice):
    def broken(job_id: UUID, queue: str) -> None:
        raise ConnectionError("broker down")

    app = create_app(settings, enqueuer=broken)
    with TestClient(app) as client:
        response = client.post("/v1/jobs", json=CANONICAL_EXAMPLE, headers=alice)
        assert response.status_code == 201
        assert client.get(f"/v1/jobs/{response.json()['id']}", headers=alice).json()["status"] == "queued"
    with session_scope(app.state.sessions) as session:
        assert session.get(Job, UUID(response.json()["id"])).dispatched_at is None  # the sweep sends it later
