"""A deterministic English → Spanish parallel corpus from a small grammar.

Real Spanish grammar on a small lexicon: adjectives follow the noun and agree with it in gender
and number; articles and demonstratives agree; verbs conjugate for person and number (present
tense, regular -ar/-er/-ir); subject pronouns are dropped; object pronouns go before the verb;
English do-support negation becomes "no" before the verb. The shipped TSV
(`translation_corpus.tsv`) is made by `python -m mobilekit.zoo.translation_corpus` and has a
`split` column (train / valid / test).
"""

from __future__ import annotations

import random
from pathlib import Path

TSV = Path(__file__).with_name("translation_corpus.tsv")
SEED = 7

# english singular, english plural, spanish singular, gender
NOUNS = [
    ("cat", "cats", "gato", "m"), ("dog", "dogs", "perro", "m"), ("boy", "boys", "niño", "m"),
    ("girl", "girls", "niña", "f"), ("teacher", "teachers", "maestro", "m"), ("doctor", "doctors", "médico", "m"),
    ("woman", "women", "mujer", "f"), ("man", "men", "hombre", "m"), ("friend", "friends", "amigo", "m"),
    ("sister", "sisters", "hermana", "f"), ("brother", "brothers", "hermano", "m"), ("student", "students", "estudiante", "m"),
    ("apple", "apples", "manzana", "f"), ("book", "books", "libro", "m"), ("house", "houses", "casa", "f"),
    ("car", "cars", "coche", "m"), ("letter", "letters", "carta", "f"), ("table", "tables", "mesa", "f"),
    ("window", "windows", "ventana", "f"), ("door", "doors", "puerta", "f"), ("bread", "breads", "pan", "m"),
    ("flower", "flowers", "flor", "f"), ("song", "songs", "canción", "f"), ("shirt", "shirts", "camisa", "f"),
    ("cake", "cakes", "pastel", "m"), ("newspaper", "newspapers", "periódico", "m"), ("city", "cities", "ciudad", "f"),
    ("key", "keys", "llave", "f"), ("chair", "chairs", "silla", "f"), ("bottle", "bottles", "botella", "f"),
]
ANIMATE = {"cat", "dog", "boy", "girl", "teacher", "doctor", "woman", "man", "friend", "sister", "brother", "student"}

# english adjective, spanish masculine singular (agreement is derived)
ADJECTIVES = [
    ("red", "rojo"), ("black", "negro"), ("white", "blanco"), ("small", "pequeño"), ("new", "nuevo"),
    ("old", "viejo"), ("tall", "alto"), ("pretty", "bonito"), ("big", "grande"), ("green", "verde"),
    ("blue", "azul"), ("happy", "feliz"), ("young", "joven"), ("cheap", "barato"), ("expensive", "caro"),
]
HUMAN_ONLY_ADJ = {"happy", "young", "tall"}

# english base, english 3sg, spanish infinitive; objects: "any" / "animate" / set of nouns
TRANSITIVE = [
    ("eat", "eats", "comer", {"apple", "bread", "cake"}), ("buy", "buys", "comprar", None),
    ("see", "sees", "mirar", None), ("sell", "sells", "vender", None),
    ("read", "reads", "leer", {"book", "letter", "newspaper"}), ("write", "writes", "escribir", {"letter", "book", "song"}),
    ("open", "opens", "abrir", {"door", "window", "book", "letter", "bottle"}), ("need", "needs", "necesitar", None),
    ("wash", "washes", "lavar", {"car", "shirt", "table", "window", "dog", "cat"}), ("call", "calls", "llamar", "animate"),
    ("help", "helps", "ayudar", "animate"), ("visit", "visits", "visitar", "animate"), ("sing", "sings", "cantar", {"song"}),
    ("use", "uses", "usar", {"car", "key", "table", "chair", "bottle"}), ("love", "loves", "amar", None),
]
INTRANSITIVE = [
    ("run", "runs", "correr"), ("walk", "walks", "caminar"), ("dance", "dances", "bailar"), ("swim", "swims", "nadar"),
    ("work", "works", "trabajar"), ("live here", "lives here", "vivir aquí"), ("cry", "cries", "llorar"),
    ("sing", "sings", "cantar"), ("study", "studies", "estudiar"), ("travel", "travels", "viajar"),
]

# person/number: english pronoun, object pronoun, 3sg?, spanish ending slot
PRONOUNS = [("i", "1s"), ("you", "2s"), ("he", "3s"), ("she", "3s"), ("we", "1p"), ("they", "3p")]
ENDINGS = {
    "ar": {"1s": "o", "2s": "as", "3s": "a", "1p": "amos", "3p": "an"},
    "er": {"1s": "o", "2s": "es", "3s": "e", "1p": "emos", "3p": "en"},
    "ir": {"1s": "o", "2s": "es", "3s": "e", "1p": "imos", "3p": "en"},
}
DETERMINERS = {  # english (sg, pl) → spanish by gender/number
    "the": (("the", "the"), {"ms": "el", "fs": "la", "mp": "los", "fp": "las"}),
    "a": (("a", "some"), {"ms": "un", "fs": "una", "mp": "unos", "fp": "unas"}),
    "my": (("my", "my"), {"ms": "mi", "fs": "mi", "mp": "mis", "fp": "mis"}),
    "this": (("this", "these"), {"ms": "este", "fs": "esta", "mp": "estos", "fp": "estas"}),
}
ES_NOUN_GENDER_FORM = {"maestro": "maestra", "amigo": "amiga", "hermano": "hermana", "niño": "niña"}


def conjugate(infinitive: str, person: str) -> str:
    words = infinitive.split()
    verb, rest = words[0], words[1:]
    form = verb[:-2] + ENDINGS[verb[-2:]][person]
    return " ".join([form, *rest])


def plural_es(word: str) -> str:
    if word[-1] in "aeiouáéó":
        return word + "s"
    if word.endswith("z"):
        return word[:-1] + "ces"
    if word.endswith("ión"):
        return word[:-3] + "iones"
    return word + "es"


def adjective_es(masc: str, gender: str, plural: bool) -> str:
    if masc.endswith("o"):
        form = masc[:-1] + ("a" if gender == "f" else "o")
    else:
        form = masc
    return plural_es(form) if plural else form


def noun_phrase(rng: random.Random, noun, plural: bool, allow_adj: bool = True) -> tuple[str, str, str]:
    """→ (english, spanish, person) for a determiner + optional adjective + noun."""
    en_sg, en_pl, es, gender = noun
    det = rng.choice(list(DETERMINERS))
    (en_det_sg, en_det_pl), es_det = DETERMINERS[det]
    key = gender + ("p" if plural else "s")
    en_words = [en_det_pl if plural else en_det_sg]
    es_noun = plural_es(es) if plural else es
    es_words = [es_det[key], es_noun]
    if allow_adj and rng.random() < 0.45:
        adjs = [a for a in ADJECTIVES if en_sg in ANIMATE or a[0] not in HUMAN_ONLY_ADJ]
        en_adj, es_adj = rng.choice(adjs)
        en_words.append(en_adj)
        es_words.append(adjective_es(es_adj, gender, plural))
    en_words.append(en_pl if plural else en_sg)
    if en_words[0] == "a" and en_words[1][0] in "aeiou":
        en_words[0] = "an"
    return " ".join(en_words), " ".join(es_words), "3p" if plural else "3s"


def subject(rng: random.Random, animate_only: bool) -> tuple[str, str, str]:
    if rng.random() < 0.35:
        en, person = rng.choice(PRONOUNS)
        return en, "", person  # Spanish drops subject pronouns
    nouns = [n for n in NOUNS if n[0] in ANIMATE] if animate_only else NOUNS
    return noun_phrase(rng, rng.choice(nouns), rng.random() < 0.4)


def english_verb(base: str, third: str, person: str, negative: bool) -> str:
    if negative:
        return ("does not " if person == "3s" else "do not ") + base
    return third if person == "3s" else base


def sentence(rng: random.Random) -> tuple[str, str]:
    kind = rng.random()
    negative = rng.random() < 0.25
    if kind < 0.5:  # subject + transitive verb + object (noun phrase or pronoun)
        en_v, en_3, es_inf, objects = rng.choice(TRANSITIVE)
        en_s, es_s, person = subject(rng, animate_only=True)
        if objects is None:
            pool = NOUNS
        elif objects == "animate":
            pool = [n for n in NOUNS if n[0] in ANIMATE]
        else:
            pool = [n for n in NOUNS if n[0] in objects]
        obj = rng.choice(pool)
        verb_es = conjugate(es_inf, person)
        if rng.random() < 0.2 and obj[0] in ANIMATE:  # object pronoun: before the Spanish verb
            en_o, es_o = rng.choice([("him", "lo"), ("her", "la"), ("them", "los")])
            es_pred = ["no"] * negative + [es_o, verb_es]
        else:
            en_o, es_o, _ = noun_phrase(rng, obj, rng.random() < 0.35)
            if obj[0] in ANIMATE:
                es_o = "a " + es_o  # personal "a" before a human/animal object
                es_o = es_o.replace("a el ", "al ", 1)
            es_pred = ["no"] * negative + [verb_es, es_o]
        en = f"{en_s} {english_verb(en_v, en_3, person, negative)} {en_o}"
        es = " ".join(w for w in [es_s, *es_pred] if w)
    elif kind < 0.75:  # subject + intransitive verb
        en_v, en_3, es_inf = rng.choice(INTRANSITIVE)
        en_s, es_s, person = subject(rng, animate_only=True)
        en = f"{en_s} {english_verb(en_v, en_3, person, negative)}"
        es = " ".join(w for w in [es_s, *(["no"] * negative), conjugate(es_inf, person)] if w)
    else:  # noun phrase + "is/are" + adjective, with agreement
        noun = rng.choice(NOUNS)
        plural = rng.random() < 0.4
        en_s, es_s, _ = noun_phrase(rng, noun, plural, allow_adj=False)
        adjs = [a for a in ADJECTIVES if noun[0] in ANIMATE or a[0] not in HUMAN_ONLY_ADJ]
        en_adj, es_adj = rng.choice(adjs)
        en_be = ("are" if plural else "is") + (" not" if negative else "")
        es_be = ("no " if negative else "") + ("son" if plural else "es")
        en = f"{en_s} {en_be} {en_adj}"
        es = f"{es_s} {es_be} {adjective_es(es_adj, noun[3], plural)}"
    return en + " .", es + " ."


def generate(n: int = 9000, seed: int = SEED) -> list[tuple[str, str]]:
    """`n` distinct pairs, in a fixed order for the seed."""
    rng = random.Random(seed)
    seen: dict[str, str] = {}
    while len(seen) < n:
        en, es = sentence(rng)
        seen.setdefault(en, es)
    return list(seen.items())


def write_tsv(path: Path = TSV, n: int = 9000, valid: int = 300, test: int = 500) -> None:
    pairs = generate(n)
    rows = ["split\tenglish\tspanish"]
    for i, (en, es) in enumerate(pairs):
        split = "test" if i < test else "valid" if i < test + valid else "train"
        rows.append(f"{split}\t{en}\t{es}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def load(split: str | None = None, path: Path = TSV) -> list[tuple[str, str]]:
    """(english, spanish) pairs of one split (train / valid / test), or all of them."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        s, en, es = line.split("\t")
        if split is None or s == split:
            out.append((en, es))
    return out


def heldout(n: int = 100) -> list[tuple[str, str]]:
    """The first `n` test pairs: what `mobilekit export` checks decoding on."""
    return load("test")[:n]


if __name__ == "__main__":
    write_tsv()
    print(f"wrote {TSV}")
