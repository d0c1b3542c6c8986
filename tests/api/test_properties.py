"""Property-based: whatever a client sends as a cursor, a tag filter, a name, a tag or an Idempotency-Key, the answer
is a success or a 4xx in the one shape, never a 5xx (Hypothesis draws the inputs, surrogates and extreme dates
included)."""

import json
from datetime import datetime, timedelta, timezone
from uuid import UUID

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.api.helpers import assert_error
from tests.store.cursors import crafted_cursor

FEW = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Every code point, lone surrogates (category Cs) included and drawn often: JSON can carry them as "\ud800".
ANY_CHARACTER = st.one_of(st.characters(codec=None, exclude_categories=()), st.characters(categories=["Cs"]))
# What a URL can carry: any character UTF-8 can encode (a surrogate cannot be percent-encoded as UTF-8).
URL_CHARACTER = st.characters(codec="utf-8", exclude_categories=())
OFFSETS = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
MOMENTS = st.datetimes(timezones=st.none() | OFFSETS.map(timezone))  # from year 1 to 9999, naive or at any offset


def any_text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Text of ANY_CHARACTER, joined from a list: st.text would drop the surrogates."""
    return st.lists(ANY_CHARACTER, min_size=min_size, max_size=max_size).map("".join)


def _answered(response, *ok: int) -> None:
    """A success in `ok`, or any 4xx in the one error shape."""
    if response.status_code not in ok:
        assert 400 <= response.status_code < 500, response.text
        assert_error(response, response.status_code)


@FEW
@given(cursor=st.text(URL_CHARACTER, max_size=200))
def test_any_cursor_text_is_a_page_or_a_400(client, alice, cursor):
    response = client.get("/v1/jobs", params={"cursor": cursor}, headers=alice)

    assert response.status_code in (200, 400), response.text


@FEW
@given(moment=MOMENTS, job_id=st.uuids().map(str) | st.text(URL_CHARACTER, max_size=40))
@example(moment=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), job_id=str(UUID(int=1)))
@example(moment=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), job_id=str(UUID(int=1)))
def test_any_crafted_cursor_is_a_page_or_a_400(client, alice, moment, job_id):
    cursor = crafted_cursor("-created_at", moment.isoformat(), job_id)

    response = client.get("/v1/jobs", params={"cursor": cursor}, headers=alice)

    assert response.status_code in (200, 400), response.text


@FEW
@given(tag=st.text(URL_CHARACTER, max_size=80))
def test_any_tag_filter_is_a_page_or_a_422(client, alice, tag):
    response = client.get("/v1/jobs", params={"tag": tag}, headers=alice)

    _answered(response, 200)
    assert response.status_code in (200, 422)


def _submitted(client, alice, body: dict) -> None:
    """POST `body` as JSON (ASCII: a lone surrogate travels as its \\u escape): a job that keeps the text, or a 422."""
    sent = json.dumps(body)
    response = client.post("/v1/jobs", content=sent, headers={**alice, "Content-Type": "application/json"})

    assert response.status_code in (201, 422), response.text
    _answered(response, 201)
    if response.status_code == 201:  # as JSON decodes it: an escaped surrogate pair is one character
        assert {field: response.json()[field] for field in body} == json.loads(sent)


@FEW
@given(name=any_text(max_size=30))
def test_any_name_is_a_job_or_a_422(client, alice, name):
    _submitted(client, alice, {"name": name})


@FEW
@given(tags=st.lists(any_text(min_size=1, max_size=10), min_size=1, max_size=3))
def test_any_tags_are_a_job_or_a_422(client, alice, tags):
    _submitted(client, alice, {"tags": tags})


@FEW
@given(key=st.binary(min_size=1, max_size=60).filter(lambda key: b"\r" not in key and b"\n" not in key))
def test_any_idempotency_key_is_a_job_or_a_422(client, alice, key):
    response = client.post("/v1/jobs", json={}, headers={**alice, "Idempotency-Key": key})

    assert response.status_code in (201, 422), response.text
    _answered(response, 201)
