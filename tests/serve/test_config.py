"""Model specs, limits, and the loopback-only rule of the load tester."""

from __future__ import annotations

from pathlib import Path

import pytest

from agileclf.errors import ConfigError
from agileclf.serve.config import Limits, is_loopback_host, parse_model_specs
from agileclf.serve.loadtest import check_target, run_loadtest


def test_model_specs_default_to_folder_names_and_accept_name_equals_dir(tmp_path):
    specs = parse_model_specs([str(tmp_path / "sentiment"), "intents=/models/massive"])
    assert specs == {"sentiment": tmp_path / "sentiment", "intents": Path("/models/massive")}


@pytest.mark.parametrize("specs", [[], ["a=/x", "a=/y"], ["=/x"], ["name="]])
def test_bad_model_specs_are_refused(specs):
    with pytest.raises(ConfigError):
        parse_model_specs(specs)


def test_limits_validate_and_size_the_body_cap():
    with pytest.raises(ConfigError):
        Limits(max_texts=0)
    with pytest.raises(ConfigError):
        Limits(max_texts=100, max_queued_texts=10)
    assert Limits(max_texts=2, max_text_chars=10).max_body_bytes < Limits().max_body_bytes


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "192.168.1.5", "8.8.8.8", "::", "no-such-host.invalid"])
def test_non_loopback_hosts(host):
    assert not is_loopback_host(host)


def test_loadtest_target_is_normalised():
    assert check_target("http://127.0.0.1:8000") == ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/classify")
    assert check_target("localhost:9000/v1/classify")[1] == "http://localhost:9000/v1/classify"


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "https://example.com", "ftp://127.0.0.1", "http://0.0.0.0:80"])
def test_loadtest_refuses_anything_but_loopback(url):
    with pytest.raises(ConfigError):
        run_loadtest(url, requests=1)


@pytest.mark.parametrize(
    "kwargs", [{"requests": 0}, {"requests": 10**9}, {"concurrency": 0}, {"duration_s": 0}, {"duration_s": 10**6}]
)
def test_loadtest_is_bounded(kwargs):
    with pytest.raises(ConfigError):
        run_loadtest("http://127.0.0.1:1", **kwargs)
