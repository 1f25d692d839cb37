"""The Swift core's golden fixtures (mobile/swift/Tests/MobileKitCoreTests/Fixtures): what the
XCTests compare the Swift tokenizer and beam search against. Swift does not run here, so the
fixtures are made by Fixtures/make_fixtures.py with Hugging Face `tokenizers` and
mobilekit.tasks.decoding and mobilekit.verify.verdict; these tests regenerate them and require the committed copies to be
identical (they cannot go stale), check the package ships them as resources, and parse the new
Swift files with tree-sitter-swift (the macOS CI job compiles and runs them)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from toolchain import swift_errors

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "mobile" / "swift"
TESTS = CORE / "Tests" / "MobileKitCoreTests"
FIXTURES = TESTS / "Fixtures"
NEW_SWIFT = [CORE / "Sources/MobileKitCore" / n for n in ("HFTokenizer.swift", "JSONValue.swift", "BeamSearch.swift",
                                                          "Translator.swift", "Verdict.swift")] + \
            [TESTS / n for n in ("HFTokenizerTests.swift", "BeamSearchTests.swift", "VerdictTests.swift")]


def _generator():
    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURES / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The goldens written afresh from the committed tokenizer files (training itself is not
    deterministic: `tokenizers` breaks ties in hash-map order)."""
    out = tmp_path_factory.mktemp("swift_fixtures")
    assert len(list((FIXTURES / "tokenizers").glob("*.json"))) >= 14
    _generator().write(out, tokenizers_from=FIXTURES / "tokenizers")
    return out


def test_committed_fixtures_are_what_the_generator_writes(regenerated):
    fresh, committed = _files(regenerated), _files(FIXTURES)
    assert sorted(fresh) == sorted(committed), "run mobile/swift/Tests/MobileKitCoreTests/Fixtures/make_fixtures.py"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert stale == [], f"stale fixtures {stale}: run .venv/bin/python {FIXTURES.relative_to(ROOT)}/make_fixtures.py"
    assert sum(map(len, committed.values())) < 200_000  # small: KBs


def test_committed_tokenizers_are_what_the_training_code_makes(tmp_path):
    """Retrained, every tokenizer has the committed one's components, options and special tokens
    (the vocabulary, scores and merges may differ between runs)."""
    gen = _generator()
    gen.train(tmp_path, only_missing=False)
    committed = sorted(p.name for p in (FIXTURES / "tokenizers").glob("*.json"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.json"))
    for name in committed:
        old = json.loads((FIXTURES / "tokenizers" / name).read_text(encoding="utf-8"))
        new = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        assert gen.shape(old) == gen.shape(new), name


def test_fixtures_cover_every_family_both_kinds_and_the_edge_cases():
    golden = json.loads((FIXTURES / "tokenizer_golden.json").read_text(encoding="utf-8"))
    names = {t["name"] for t in golden["tokenizers"]}
    for family in ("marian", "t5", "bart", "mbart", "m2m_100"):
        assert {f"{family}_bpe", f"{family}_unigram"} <= names, family
    assert {"bytelevel_merges", "shipped_wordlevel", "sequence_unigram", "prefix_suffix_bpe", "added_tokens_unigram"} <= names
    components = set()
    for t in golden["tokenizers"]:
        assert (FIXTURES / t["file"]).is_file()
        doc = json.loads((FIXTURES / t["file"]).read_text(encoding="utf-8"))
        components |= {json.dumps(doc.get(k), sort_keys=True) for k in ("normalizer", "pre_tokenizer", "decoder")}
        components.add(doc["model"]["type"])
        if doc["model"].get("merges"):
            components.add("merges")
        texts = {c["text"] for c in t["cases"]}
        assert {"", " ", "Ñandú: über-cool ☃ 日本語 🙂"} <= texts
        cases = t["cases"]
        assert any(len([i for i in c["ids"]]) > golden["max_source_len"] for c in cases), "no truncated source"
    joined = "\n".join(components)
    for needed in ('"Lowercase"', '"NFKC"', '"Sequence"', '"Whitespace"', '"WhitespaceSplit"', '"Metaspace"', '"ByteLevel"',
                   '"BPEDecoder"', '"prepend_scheme": "first"', "Unigram", "BPE", "merges"):
        assert needed in joined, needed
    beam = json.loads((FIXTURES / "beam_golden.json").read_text(encoding="utf-8"))
    assert any(c["forced_bos"] is not None for c in beam["cases"]) and any(c["forced_eos"] is not None for c in beam["cases"])
    assert any(c["beam"][k] != c["greedy"] for c in beam["cases"] for k in ("2", "3", "4"))
    assert any(c["beam"]["3"][-1] != c["eos"] for c in beam["cases"])  # one ends at the length limit


def test_the_package_ships_the_fixtures_and_the_xctests_read_them():
    package = (CORE / "Package.swift").read_text()
    assert re.search(r'\.testTarget\(\s*name: "MobileKitCoreTests",\s*dependencies: \["MobileKitCore"\],\s*'
                     r'resources: \[\.copy\("Fixtures"\)\]', package)
    tests = "\n".join(p.read_text() for p in TESTS.glob("*.swift"))
    assert 'Bundle.module.url(forResource: "Fixtures", withExtension: nil)' in tests
    for name in ("tokenizer_golden.json", "beam_golden.json", "verdict_golden.json"):
        assert f'"{name}"' in tests, name
    for name in ("testEveryFixtureTokenizerMatchesHuggingFaceTokenizers", "testUnsupportedComponentsAreNamed",
                 "testBeamSearchMatchesThePythonRunner", "testRunnersDecodeLikeThePythonRunner",
                 "testTranslatorReadsTheHuggingFaceManifest", "testTheRuleMatchesPython"):
        assert f"func {name}()" in tests, name


def test_the_new_swift_files_parse():
    bad = {str(f.relative_to(ROOT)): errs for f in NEW_SWIFT if (errs := swift_errors(f.read_bytes()))}
    assert bad == {}


def test_the_swift_verdict_has_pythons_thresholds():
    from mobilekit.verify import verdict

    text = (CORE / "Sources/MobileKitCore/Verdict.swift").read_text()
    assert f'ruleName = "{verdict.RULE}"' in text
    for cls, rule in verdict.RULES.items():
        line = re.search(rf'"{cls}": Rule\(([^)]*)\)', text).group(1)
        got = {k: float(v) for k, v in re.findall(r"(\w+): ([\d.e-]+)", line)}
        assert got == {"minSnrDb": rule.min_snr_db, "minCosine": rule.min_cosine,
                       "minTop1Agreement": rule.min_top1_agreement, "tieMargin": rule.tie_margin}, cls


def test_unsupported_components_throw_naming_their_type():
    """The tokenizer never guesses: every component type it reads is listed, the rest throw."""
    text = (CORE / "Sources/MobileKitCore/HFTokenizer.swift").read_text()
    assert text.count("throw TokenizerError.unsupported(component:") >= 5
    for kind in ("normalizer", "pre-tokenizer", "model", "decoder", "post-processor"):
        assert f'TokenizerError.unsupported(component: "{kind}", type: type)' in text, kind
