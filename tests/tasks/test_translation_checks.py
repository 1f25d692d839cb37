"""The translation check itself: a pair that decodes differently fails; no runtime → unverified."""

import numpy as np
import pytest

from mobilekit import config as config_mod
from mobilekit.errors import ConfigError, UserError
from mobilekit.progress import Silent
from mobilekit.targets.base import ArtifactRecord, Target, Unverifiable
from mobilekit.tasks import tokenizer, translation, translation_checks
from mobilekit.tasks.seq2seq_split import Shapes, graphs, torch_runner
from mobilekit.zoo import translation_corpus, translator

BASE = {"name": "t", "task": "translation", "targets": ["onnx"],
        "translation": {"tokenizer": str(translator.TOKENIZER), "data": "mobilekit.zoo.translation_corpus:heldout", "samples": 6, "golden": 3}}


class FakeTarget(Target):
    name = "fake"

    def __init__(self, runners=None, reason=None):
        self.runners, self.reason = runners, reason

    def check_structure(self, record, bundle_dir, spec):
        return {"checked": True}

    def runner(self, record, bundle_dir):
        if self.runners is None:
            raise Unverifiable(self.reason)
        return self.runners[record.details["graph"]]


@pytest.fixture(scope="module")
def setup():
    model = translator.build()
    tok = tokenizer.load(translator.TOKENIZER)
    shapes = Shapes.of(model)
    modules = graphs(model)
    io = {"encoder": shapes.encoder_io(), "decoder": shapes.decoder_io()}
    pairs = translation_corpus.heldout(6)
    reference = [translation._reference(tok, modules, io, text, shapes) for text, _ in pairs]
    runners = {g: torch_runner(modules[g], *io[g]) for g in io}
    return tok, shapes, pairs, reference, runners


def _check(tmp_path, setup, target):
    tok, shapes, pairs, reference, _ = setup
    cfg = config_mod.resolve(BASE)
    found = []
    for g in ("encoder", "decoder"):
        (tmp_path / "fake").mkdir(exist_ok=True)
        (tmp_path / "fake" / f"{g}.bin").write_bytes(g.encode())
        rec = ArtifactRecord(target="fake", variant="fp32", path=f"fake/{g}.bin", precision="fp32", layout="",
                             made_by={"converter": "test"}, details={"graph": g})
        found.append((g, rec, tmp_path / "logs" / f"fake-{g}.log"))
    return translation_checks.check_pair("fake/fp32", found, {"fake": target}, {"encoder": None, "decoder": None}, cfg,
                                   tmp_path, tok, pairs, reference, shapes, Silent())


def test_a_pair_that_decodes_like_torch_is_verified(tmp_path, setup):
    entries = _check(tmp_path, setup, FakeTarget(setup[4]))
    assert [e["status"] for e in entries] == ["verified", "verified"]
    assert entries[1]["decoding"]["token_exact"] == 1.0 and entries[1]["parity"]["max_abs"] == 0.0


def test_a_pair_that_decodes_differently_fails(tmp_path, setup):
    good = setup[4]

    def drifting(feeds):  # a converter bug that shows only from the third step on
        out = dict(good["decoder"](feeds))
        if int(feeds["position"][0]) == 2:
            out["logits"] = out["logits"].copy()
            out["logits"][0, 7] += 1e3
        return out

    entries = _check(tmp_path, setup, FakeTarget({"encoder": good["encoder"], "decoder": drifting}))
    assert [e["status"] for e in entries] == ["failed", "failed"]
    assert entries[0]["decoding"]["token_exact"] == 0.0
    assert "greedy decoding matched torch on 0.00% of 6 sentences" in entries[0]["error"]


def test_no_runtime_means_unverified_with_the_reason(tmp_path, setup):
    entries = _check(tmp_path, setup, FakeTarget(reason="no Core ML runtime on this host"))
    assert [e["status"] for e in entries] == ["unverified", "unverified"]
    assert entries[0]["status_reason"] == "no Core ML runtime on this host" and entries[0]["structure"] == {"checked": True}


def test_config_requires_tokenizer_and_data():
    with pytest.raises(ConfigError, match="translation.tokenizer"):
        config_mod.resolve({"name": "t", "task": "translation"})
    with pytest.raises(ConfigError, match="translation.golden"):
        config_mod.resolve({**BASE, "translation": {**BASE["translation"], "golden": 7}})


def test_lengths_that_do_not_match_the_model_are_one_clear_error(tmp_path):
    from mobilekit import pipeline

    cfg = config_mod.resolve({**BASE, "source": "mobilekit.zoo.translator:build", "output_dir": str(tmp_path),
                              "translation": {**BASE["translation"], "max_target_len": 64}})
    with pytest.raises(UserError, match="max_target_len is 64 but the model was built for 40"):
        pipeline.export(cfg)
    assert not any(tmp_path.iterdir())  # nothing written


def test_source_ids_follow_the_manifest_rule():
    tok = tokenizer.load(translator.TOKENIZER)
    ids = tokenizer.encode_source(tok, "the cat runs .", 20)
    body = tok.encode("the cat runs .", add_special_tokens=False).ids
    assert ids == body + [2] + [0] * (19 - len(body))
    assert np.all(np.array(ids) >= 0)
