"""`bnlab serve` refuses, with the reason and before it makes a key, to start where it cannot serve: on a data dir
another serve holds, or on a port that is taken; and it makes and prints the first key only once it listens."""

import socket

import pytest

from tests.bnlab.conftest import bnlab
from tests.e2e.conftest import backend_env, embedded_service
from tests.net import free_port

pytestmark = pytest.mark.slow
TAKEN = "Address already in use"


def test_a_second_serve_on_the_same_data_dir_is_refused_with_the_first_ones_pid(tmp_path):
    with embedded_service(tmp_path) as service:
        second = bnlab("serve", "--port", free_port(), env=service.env)
        with service.client() as client:
            assert client.get("/readyz").status_code == 200  # the first one is untouched
    assert second.returncode == 1 and second.stdout == ""
    assert second.stderr.startswith("error: another bnlab serve (pid ") and "--data-dir" in second.stderr


def test_a_serve_on_a_taken_port_says_so_and_makes_no_key(tmp_path):
    [env] = backend_env("embedded", tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = bnlab("serve", "--port", port, env=env)
    assert result.returncode == 1 and "first API key" not in result.stdout
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port} ({TAKEN}); pass a free one with --port\n"
    assert not (tmp_path / "data" / "bnlab.sqlite").exists(), "the failed start migrated and made a key"


def test_the_first_key_is_made_and_printed_only_once_the_api_listens_and_never_again(tmp_path):
    with embedded_service(tmp_path):
        first = (tmp_path / "serve.log").read_text()
    assert first.index("Uvicorn running on") < first.index("first API key (shown once)") < first.index("open ")
    with embedded_service(tmp_path, key_expected=False) as service:  # the same data dir, started again
        keys = bnlab("keys", "list", env=service.env).stdout
    again = (tmp_path / "serve.log").read_text()
    assert "Uvicorn running on" in again and "first API key" not in again
    assert keys.count(" active") == 1, keys  # still the one key of the first start
