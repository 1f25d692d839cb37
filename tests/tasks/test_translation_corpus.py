"""The shipped parallel corpus: deterministic, split, and grammatical where it matters."""

from mobilekit.zoo import translation_corpus as c


def test_shipped_tsv_is_what_the_generator_makes(tmp_path):
    out = tmp_path / "c.tsv"
    c.write_tsv(out)
    assert out.read_bytes() == c.TSV.read_bytes()


def test_splits_are_disjoint_and_sized():
    test, valid, train = c.load("test"), c.load("valid"), c.load("train")
    assert (len(test), len(valid)) == (500, 300) and len(train) > 8000
    sources = [{en for en, _ in part} for part in (test, valid, train)]
    assert not (sources[0] & sources[2]) and not (sources[1] & sources[2]) and not (sources[0] & sources[1])


def test_grammar_agreement_and_word_order():
    assert c.adjective_es("rojo", "f", True) == "rojas"
    assert c.adjective_es("feliz", "m", True) == "felices"
    assert c.conjugate("escribir", "1p") == "escribimos"
    assert c.plural_es("canción") == "canciones"
    pairs = dict(c.load())
    # adjectives follow the noun and agree; pronoun objects precede the verb; "a el" contracts
    red = [(en, es) for en, es in pairs.items() if " red apples " in f" {en} "]
    assert red and all("manzanas rojas" in es for _, es in red)
    assert any(" him ." in en and " lo " in es for en, es in pairs.items())
    assert not any(" a el " in es for es in pairs.values())
    assert not any(en.startswith("a a") or " a a" in en or " a o" in en for en in pairs)
