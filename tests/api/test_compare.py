"""Compare: summaries side by side, spec differences, series aligned on steps."""

from uuid import UUID

import pytest

from store import MetricRepository, session_scope, states
from tests.api.helpers import assert_error


@pytest.fixture
def two_jobs(submit, sessions) -> tuple[dict, dict]:
    """BN on (finished; train_loss at 0, 10, 20 and test_acc) and off (queued; train_loss at 0, 20, 30)."""
    bn, plain = submit(), submit(name="fig1-sigmoid", model__norm="none", optimizer__lr=0.1)
    with session_scope(sessions) as session:
        metrics = MetricRepository(session)
        metrics.upsert(UUID(bn["id"]), [("train_loss", 0, 2.0), ("train_loss", 10, 1.5), ("train_loss", 20, 1.0)])
        metrics.upsert(UUID(bn["id"]), [("test_acc", 20, 0.8)])
        metrics.upsert(UUID(plain["id"]), [("train_loss", 0, 2.5), ("train_loss", 20, 2.0), ("train_loss", 30, 1.8)])
        states.claim(session, UUID(bn["id"]), "test-worker", lease_s=60)
        states.succeed(session, UUID(bn["id"]), worker="test-worker", summary={"final_test_acc": 0.8})
    return bn, plain


def test_compare_sets_jobs_side_by_side(client, alice, two_jobs):
    bn, plain = two_jobs

    response = client.get(f"/v1/compare?ids={bn['id']},{plain['id']}", headers=alice)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["jobs"] == [
        {"id": bn["id"], "name": "fig1-sigmoid-bn", "status": "succeeded", "summary": {"final_test_acc": 0.8}},
        {"id": plain["id"], "name": "fig1-sigmoid", "status": "queued", "summary": None},
    ]
    assert body["spec_differences"] == [
        {"field": "name", "values": ["fig1-sigmoid-bn", "fig1-sigmoid"]},
        {"field": "model.norm", "values": ["batchnorm", "none"]},
        {"field": "optimizer.lr", "values": [0.5, 0.1]},
    ]
    assert body["series"] == {  # only the metric both jobs have
        "train_loss": {"steps": [0, 10, 20, 30], "values": [[2.0, 1.5, 1.0, None], [2.5, None, 2.0, 1.8]]}
    }


def test_compare_named_series_in_the_order_asked(client, alice, two_jobs):
    bn, plain = two_jobs

    response = client.get(f"/v1/compare?ids={plain['id']}&ids={bn['id']}&names=test_acc", headers=alice)

    body = response.json()
    assert [job["id"] for job in body["jobs"]] == [plain["id"], bn["id"]]
    assert body["series"] == {"test_acc": {"steps": [20], "values": [[None], [0.8]]}}


@pytest.mark.parametrize(
    ("ids", "field"),
    [
        (lambda a, b: a, "query.ids"),
        (lambda a, b: ",".join([a, b] + [f"00000000-0000-4000-8000-{n:012d}" for n in range(9)]), "query.ids"),
        (lambda a, b: f"{a},{a}", "query.ids"),
        (lambda a, b: f"{a},nope", "query.ids[1]"),
    ],
    ids=["one id", "eleven ids", "repeated", "not a uuid"],
)
def test_compare_refuses_bad_id_lists(client, alice, two_jobs, ids, field):
    response = client.get(f"/v1/compare?ids={ids(two_jobs[0]['id'], two_jobs[1]['id'])}", headers=alice)

    assert [detail["field"] for detail in assert_error(response, 422, "validation_error")["details"]] == [field]


def test_compare_with_an_unknown_id_is_404(client, alice, two_jobs):
    missing = "00000000-0000-4000-8000-000000000000"

    response = client.get(f"/v1/compare?ids={two_jobs[0]['id']},{missing}", headers=alice)

    assert missing in assert_error(response, 404, "not_found")["message"]
