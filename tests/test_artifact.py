import json
import shutil

import numpy as np
import pytest

from agileclf import load_classifier
from agileclf.artifact import META_FILE, read_meta, update_meta, write_directory_atomic
from agileclf.backbones import load_backbone
from agileclf.errors import ArtifactError, BackboneError
from agileclf.methods import make_method

TEXTS = ["great film", "loved it", "awful plot", "boring and bad"]
LABELS = ["pos", "pos", "neg", "neg"]


@pytest.fixture(scope="module")
def probe(minilm):
    return make_method("linear-probe", minilm, c=1.0).fit(TEXTS, LABELS)


def test_metadata_records_what_a_user_needs(probe, tmp_path):
    probe.save(tmp_path / "clf", extra={"fit_s": 1.5})
    meta = json.loads((tmp_path / "clf" / META_FILE).read_text())
    assert meta["format_version"] == 1
    assert meta["method"] == "linear-probe"
    assert meta["backbone"]["ref"] == "bundled:all-MiniLM-L6-v2" and len(meta["backbone"]["fingerprint"]) == 64
    assert meta["labels"]["names"] == ["neg", "pos"]
    assert meta["params"]["c"] == 1.0
    assert len(meta["train"]["sha256"]) == 64 and meta["train"]["size"] == 4
    assert {"torch", "transformers", "scikit-learn"} <= set(meta["versions"])
    assert set(meta["files"]) == {"weights.safetensors"}
    assert meta["fit_s"] == 1.5
    assert not list(tmp_path.glob(".clf*")), "no temporary directory may be left behind"


def test_a_failed_write_leaves_the_earlier_classifier_intact(probe, tmp_path):
    target = tmp_path / "clf"
    probe.save(target)
    before = (target / "weights.safetensors").read_bytes()

    def crash(directory):
        (directory / "weights.safetensors").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_directory_atomic(target, crash)
    assert (target / "weights.safetensors").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["clf"]
    load_classifier(target)


def test_saving_again_replaces_and_never_clobbers_other_folders(probe, tmp_path):
    probe.save(tmp_path / "clf")
    probe.save(tmp_path / "clf")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(ArtifactError, match="is not an agileclf classifier; refusing to overwrite"):
        probe.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "precious"


def test_tampered_missing_or_foreign_artifacts_are_refused(probe, tmp_path):
    path = probe.save(tmp_path / "clf")
    weights = path / "weights.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(ArtifactError, match="does not match the checksum"):
        load_classifier(path)
    weights.unlink()
    with pytest.raises(ArtifactError, match="file 'weights.safetensors' is missing"):
        load_classifier(path)
    weights.write_bytes(original)
    meta = json.loads((path / META_FILE).read_text())
    meta["format_version"] = 99
    (path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format version 99, but this agileclf reads version 1"):
        load_classifier(path)
    with pytest.raises(ArtifactError, match="no agileclf.json"):
        read_meta(tmp_path)


def test_a_different_backbone_is_refused(probe, tmp_path):
    path = probe.save(tmp_path / "clf")
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "hidden_size": 8}))
    with pytest.raises(BackboneError, match="is a different model"):
        load_classifier(path, backbone=other)


def test_update_meta_adds_metrics_and_keeps_weights_valid(probe, tmp_path):
    path = probe.save(tmp_path / "clf")
    update_meta(path, metrics={"accuracy": 0.9})
    assert read_meta(path)["metrics"] == {"accuracy": 0.9}
    np.testing.assert_allclose(load_classifier(path).predict_proba(TEXTS), probe.predict_proba(TEXTS), atol=1e-6)


def test_another_checkpoint_of_the_same_architecture_is_refused(probe, minilm, tmp_path):
    from safetensors.torch import load_file, save_file

    path = probe.save(tmp_path / "clf")
    other = tmp_path / "retrained"
    shutil.copytree(minilm.path, other)
    weights = other / "model.safetensors"
    save_file({k: v * 1.01 for k, v in load_file(str(weights)).items()}, str(weights))  # same shapes, other values
    assert load_backbone(other).fingerprint == minilm.fingerprint  # config.json alone cannot tell them apart
    with pytest.raises(BackboneError, match="holds different weights"):
        load_classifier(path, backbone=other)
    shutil.rmtree(other)
    shutil.copytree(minilm.path, other)  # an identical copy elsewhere is the same backbone
    np.testing.assert_allclose(load_classifier(path, backbone=other).predict_proba(TEXTS), probe.predict_proba(TEXTS))
