"""`bnlab submit`, `watch`, `compare`, `jobs` against a real `bnlab serve` (embedded), run as a user runs them."""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bnlab.conftest import bnlab
from tests.e2e.conftest import Service, embedded_service
from tests.net import free_port

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
FAST = {
    "dataset": {"name": "blobs"},
    "model": {"hidden": [8], "norm": "batchnorm"},
    "training": {"steps": 60, "batch_size": 32, "eval_every": 20},
}
FAST_OFF = {**FAST, "model": {"hidden": [8], "norm": "none"}}
FINISHED_SPECS = [("bn-on", FAST), ("bn-off", FAST_OFF)]
ENDLESS = {**FAST, "training": {"steps": 200_000, "batch_size": 32, "eval_every": 1000}}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One embedded service, with one worker, for the whole module."""
    with embedded_service(tmp_path_factory.mktemp("client")) as running:
        yield running


@pytest.fixture
def client_env(service: Service) -> dict[str, str]:
    """The commands' environment: the service's URL and first key."""
    return {**service.env, "BNLAB_URL": service.url, "BNLAB_API_KEY": service.key}


@pytest.fixture(scope="module")
def finished(service: Service) -> list[dict]:
    """Two jobs, BN on and off, submitted over HTTP and waited for."""
    with service.client() as http:
        ids = [http.post("/v1/jobs", json={**spec, "name": name}).json()["id"] for name, spec in FINISHED_SPECS]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = [http.get(f"/v1/jobs/{job_id}").json() for job_id in ids]
            if all(job["status"] == "succeeded" for job in jobs):
                return jobs
            time.sleep(0.5)
    raise AssertionError(f"the jobs did not succeed in time: {jobs}")


def spec_file(folder: Path, name: str, spec: dict) -> Path:
    """`spec` written to folder/name.json."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path


def one_error_line(stderr: str) -> str:
    """The whole of stderr, which must be a single `error: ...` line."""
    assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    return stderr


def test_submit_prints_the_id_and_watch_follows_the_job_to_its_summary(tmp_path, client_env, service):
    submitted = bnlab("submit", spec_file(tmp_path, "fast-bn", FAST), env=client_env)
    assert submitted.returncode == 0, submitted.stderr
    assert re.fullmatch(f"{UUID}\n", submitted.stdout)
    job_id = submitted.stdout.strip()
    watched = bnlab("watch", job_id, env=client_env)
    assert watched.returncode == 0, watched.stderr
    assert f"job {job_id} (fast-bn): succeeded" in watched.stdout and "final_test_acc" in watched.stdout
    assert "60/60" in watched.stderr and "test_acc" in watched.stderr
    with service.client() as http:
        assert http.get(f"/v1/jobs/{job_id}").json()["name"] == "fast-bn"  # the file's stem: the spec has no name


def test_submit_with_watch_names_the_job_and_follows_it(tmp_path, client_env):
    result = bnlab("submit", spec_file(tmp_path, "spec", FAST_OFF), "--name", "off", "--watch", env=client_env)
    assert result.returncode == 0, result.stderr
    job_id, rest = result.stdout.split("\n", 1)
    assert re.fullmatch(UUID, job_id) and f"job {job_id} (off): succeeded" in rest


def test_watch_of_a_cancelled_job_exits_1(client_env, service):
    with service.client() as http:
        created = http.post("/v1/jobs", json=ENDLESS)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        assert http.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    result = bnlab("watch", job_id, env=client_env)
    assert result.returncode == 1
    assert f"error: job {job_id} cancelled" in result.stderr


def test_compare_shows_the_summaries_side_by_side_and_the_spec_differences(client_env, finished):
    result = bnlab("compare", *(job["id"] for job in finished), env=client_env)
    assert result.returncode == 0, result.stderr
    summaries, differences = result.stdout.split("spec differences")
    heads = [f"{job['name']} ({job['id'][:8]})" for job in finished]
    assert re.search(rf"{re.escape(heads[0])}\s.*\s{re.escape(heads[1])}", summaries)
    assert re.search(r"final_test_acc\s", summaries) and re.search(r"status\s.*succeeded\s.*succeeded", summaries)
    assert re.search(r"model\.norm\s.*batchnorm\s.*none", differences) and "training" not in differences


def test_jobs_lists_them_newest_first_by_status_and_limit(client_env, finished):
    listed = bnlab("jobs", env=client_env)
    assert listed.returncode == 0, listed.stderr
    assert all(job["id"] in listed.stdout for job in finished)
    newest = bnlab("jobs", "--status", "succeeded", "--limit", "1", env=client_env)
    assert newest.returncode == 0, newest.stderr
    assert re.findall(UUID, newest.stdout) == re.findall(UUID, listed.stdout.split("succeeded")[0])[-1:]
    assert "succeeded" in newest.stdout


def test_jobs_sorted_by_name_either_way_and_by_lr_with_its_column(client_env, finished):
    by_name = [job["id"] for job in sorted(finished, key=lambda job: job["name"])]  # bn-off, then bn-on
    for sort, expected in (("name", by_name), ("-name", by_name[::-1])):
        listed = bnlab("jobs", "--sort", sort, env=client_env)
        assert listed.returncode == 0, listed.stderr
        assert [found for found in re.findall(UUID, listed.stdout) if found in by_name] == expected, sort
    by_lr = bnlab("jobs", "--sort", "-lr", env=client_env)
    assert by_lr.returncode == 0, by_lr.stderr
    header = by_lr.stdout.splitlines()[1]
    assert re.search(r"norm\s.*\blr\b.*final_test_acc", header) and " 0.1 " in by_lr.stdout
    assert not re.search(r"\blr\b", bnlab("jobs", env=client_env).stdout.splitlines()[1])


def test_a_wrong_key_shows_the_api_message(client_env):
    some_id, other_id = "00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000001"
    for command in (["jobs"], ["watch", some_id], ["compare", some_id, other_id]):
        result = bnlab(*command, "--key", "bnl_wrong", env=client_env)
        assert result.returncode == 1, command
        assert "send a valid API key" in one_error_line(result.stderr) and "(HTTP 401)" in result.stderr


def test_an_unknown_job_a_bad_status_and_a_bad_sort_show_the_api_message(client_env):
    missing = bnlab("watch", "00000000-0000-4000-8000-000000000000", env=client_env)
    assert missing.returncode == 1 and "not found" in one_error_line(missing.stderr)
    assert "(HTTP 404)" in missing.stderr
    bad = bnlab("jobs", "--status", "finished", env=client_env)
    assert bad.returncode == 1 and "query.status" in one_error_line(bad.stderr) and "(HTTP 422)" in bad.stderr
    unknown = bnlab("jobs", "--sort", "accuracy", env=client_env)
    assert unknown.returncode == 1 and "query.sort" in one_error_line(unknown.stderr) and "'-lr'" in unknown.stderr


def test_an_unreachable_url_is_one_line_naming_it(tmp_path, client_env):
    url = f"http://127.0.0.1:{free_port()}"
    spec = spec_file(tmp_path, "spec", FAST)
    for command in (["jobs"], ["submit", spec], ["watch", "00000000-0000-4000-8000-000000000000"]):
        result = bnlab(*command, "--url", url, env=client_env)
        assert result.returncode == 1, command
        assert f"cannot reach the API at {url}" in one_error_line(result.stderr)


def test_a_spec_with_a_bad_field_is_refused_before_anything_is_sent(tmp_path, client_env):
    spec = spec_file(tmp_path, "typo", {**FAST, "model": {"hiden": [8]}})
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = bnlab("submit", spec, "--url", nowhere, env=client_env)
    assert result.returncode == 1 and "model.hiden" in result.stderr and "Traceback" not in result.stderr


def test_no_key_says_where_to_get_one(client_env):
    result = bnlab("jobs", env={**client_env, "BNLAB_API_KEY": ""})
    assert result.returncode == 1 and "BNLAB_API_KEY" in one_error_line(result.stderr)
