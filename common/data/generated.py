"""A Spanish-English corpus the project generates itself: the embedded default data set.

Deterministic from a seed, grammatical in both languages, and written in exactly the format
of the tutorial's ``spa.txt`` (``English<TAB>Spanish``), so the same loader and training path
serve both. It has what makes translation and attention interesting, in miniature:

* agreement of gender and number (``las casas blancas`` / ``the white houses``),
* verb conjugation in three tenses and five persons, with irregular verbs,
* negation with English do-support (``no comió`` / ``didn't eat``),
* questions with ``¿...?`` and inversion (``¿Qué lee tu hermana?`` / ``What does your
  sister read?``), the personal ``a`` (``Veo al perro``), accents (``comió``, ``jóvenes``),
* where someone is, with ``todavía`` / ``still`` (``¿Todavía está en casa?`` / ``Is he
  still at home?``, the lecture's sentence),
* word-order differences: adjectives after nouns, clitic pronouns before the verb
  (``Lo compramos`` / ``We bought it``), dropped subject pronouns.

Every pair carries its true word alignment (Spanish token index, English token index), so
tests and benchmarks can measure whether attention learned it. Tokens are words and
punctuation marks, exactly the tokens both standardization modes of ``common.text`` produce.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["GeneratedPair", "generate_pairs", "write_alignments", "write_pairs"]

PRESENT, PAST, FUTURE = "present", "past", "future"
TENSES = (PRESENT, PAST, FUTURE)


@dataclasses.dataclass(frozen=True)
class GeneratedPair:
    """One sentence pair and its word alignment.

    Attributes:
        english, spanish: the sentences as a reader writes them.
        english_tokens, spanish_tokens: their words and punctuation marks, in order.
        alignment: (spanish index, english index) links; an English word may link to
            several Spanish words and the other way around ("I" links to "como").
        content: for each English token, whether it is a content word (noun, main verb,
            adjective, adverb): the words alignment accuracy is measured on.
    """

    english: str
    spanish: str
    english_tokens: tuple[str, ...]
    spanish_tokens: tuple[str, ...]
    alignment: tuple[tuple[int, int], ...]
    content: tuple[bool, ...]

    def sources_of(self, english_index: int) -> tuple[int, ...]:
        """The Spanish token indices the English token at ``english_index`` aligns to."""
        return tuple(s for s, e in self.alignment if e == english_index)


# --- Lexicon -------------------------------------------------------------------------------
# Nouns: (singular, plural, gender, english singular, english plural, tags).
# Tags: food, drink, read, thing, open, break, wash, person, animal, place, mass (no plural
# and no "a").
_NOUNS = [
    ("manzana", "manzanas", "f", "apple", "apples", "food"),
    ("pan", "panes", "m", "bread", "bread", "food mass"),
    ("pescado", "pescados", "m", "fish", "fish", "food mass"),
    ("naranja", "naranjas", "f", "orange", "oranges", "food"),
    ("huevo", "huevos", "m", "egg", "eggs", "food"),
    ("sopa", "sopas", "f", "soup", "soups", "food mass"),
    ("queso", "quesos", "m", "cheese", "cheeses", "food mass"),
    ("pastel", "pasteles", "m", "cake", "cakes", "food"),
    ("galleta", "galletas", "f", "cookie", "cookies", "food"),
    ("leche", "leches", "f", "milk", "milk", "drink mass"),
    ("café", "cafés", "m", "coffee", "coffee", "drink mass"),
    ("jugo", "jugos", "m", "juice", "juice", "drink mass"),
    ("té", "tés", "m", "tea", "tea", "drink mass"),
    ("vino", "vinos", "m", "wine", "wine", "drink mass"),
    ("libro", "libros", "m", "book", "books", "read thing open"),
    ("carta", "cartas", "f", "letter", "letters", "read thing open"),
    ("periódico", "periódicos", "m", "newspaper", "newspapers", "read thing"),
    ("revista", "revistas", "f", "magazine", "magazines", "read thing"),
    ("poema", "poemas", "m", "poem", "poems", "read"),
    ("mensaje", "mensajes", "m", "message", "messages", "read"),
    ("coche", "coches", "m", "car", "cars", "thing wash open"),
    ("bicicleta", "bicicletas", "f", "bicycle", "bicycles", "thing wash break"),
    ("camisa", "camisas", "f", "shirt", "shirts", "thing wash"),
    ("sombrero", "sombreros", "m", "hat", "hats", "thing wash"),
    ("mesa", "mesas", "f", "table", "tables", "thing wash break"),
    ("silla", "sillas", "f", "chair", "chairs", "thing wash break"),
    ("lápiz", "lápices", "m", "pencil", "pencils", "thing break"),
    ("reloj", "relojes", "m", "watch", "watches", "thing break"),
    ("vaso", "vasos", "m", "glass", "glasses", "thing wash break"),
    ("llave", "llaves", "f", "key", "keys", "thing"),
    ("zapato", "zapatos", "m", "shoe", "shoes", "thing wash"),
    ("cuadro", "cuadros", "m", "painting", "paintings", "thing"),
    ("puerta", "puertas", "f", "door", "doors", "open break"),
    ("ventana", "ventanas", "f", "window", "windows", "open break wash"),
    ("caja", "cajas", "f", "box", "boxes", "thing open break"),
    ("botella", "botellas", "f", "bottle", "bottles", "thing open break"),
    ("niño", "niños", "m", "boy", "boys", "person"),
    ("niña", "niñas", "f", "girl", "girls", "person"),
    ("hombre", "hombres", "m", "man", "men", "person"),
    ("mujer", "mujeres", "f", "woman", "women", "person"),
    ("profesor", "profesores", "m", "teacher", "teachers", "person"),
    ("profesora", "profesoras", "f", "teacher", "teachers", "person"),
    ("estudiante", "estudiantes", "m", "student", "students", "person"),
    ("amigo", "amigos", "m", "friend", "friends", "person"),
    ("amiga", "amigas", "f", "friend", "friends", "person"),
    ("hermano", "hermanos", "m", "brother", "brothers", "person"),
    ("hermana", "hermanas", "f", "sister", "sisters", "person"),
    ("padre", "padres", "m", "father", "fathers", "person"),
    ("madre", "madres", "f", "mother", "mothers", "person"),
    ("vecino", "vecinos", "m", "neighbor", "neighbors", "person"),
    ("vecina", "vecinas", "f", "neighbor", "neighbors", "person"),
    ("médico", "médicos", "m", "doctor", "doctors", "person"),
    ("perro", "perros", "m", "dog", "dogs", "animal"),
    ("gato", "gatos", "m", "cat", "cats", "animal"),
    ("pájaro", "pájaros", "m", "bird", "birds", "animal"),
    ("caballo", "caballos", "m", "horse", "horses", "animal"),
    ("casa", "casas", "f", "house", "houses", "place"),
    ("parque", "parques", "m", "park", "parks", "place"),
    ("jardín", "jardines", "m", "garden", "gardens", "place"),
    ("ciudad", "ciudades", "f", "city", "cities", "place"),
    ("escuela", "escuelas", "f", "school", "schools", "place"),
    ("oficina", "oficinas", "f", "office", "offices", "place"),
    ("cocina", "cocinas", "f", "kitchen", "kitchens", "place"),
    ("río", "ríos", "m", "river", "rivers", "place"),
]

# Adjectives: (masculine singular, english, tags). Feminine and plural forms are derived.
_ADJECTIVES = [
    ("rojo", "red", "thing"),
    ("negro", "black", "thing animal"),
    ("blanco", "white", "thing animal place"),
    ("amarillo", "yellow", "thing"),
    ("verde", "green", "thing"),
    ("azul", "blue", "thing"),
    ("nuevo", "new", "thing place"),
    ("viejo", "old", "thing person animal place"),
    ("grande", "big", "thing animal place food"),
    ("pequeño", "small", "thing animal place food"),
    ("bonito", "pretty", "thing place"),
    ("caro", "expensive", "thing food drink"),
    ("barato", "cheap", "thing food drink"),
    ("limpio", "clean", "thing place"),
    ("sucio", "dirty", "thing place"),
    ("frío", "cold", "food drink"),
    ("caliente", "hot", "food drink"),
    ("delicioso", "delicious", "food drink"),
    ("fresco", "fresh", "food drink"),
    ("alto", "tall", "person"),
    ("bajo", "short", "person"),
    ("joven", "young", "person animal"),
    ("feliz", "happy", "person animal"),
    ("simpático", "nice", "person"),
    ("inteligente", "smart", "person animal"),
    ("cansado", "tired", "person animal"),
]

_ES_PLURAL = {"joven": "jóvenes", "feliz": "felices", "azul": "azules"}


def _adjective(base: str, gender: str, plural: bool) -> str:
    if base.endswith("o"):
        form = base[:-1] + ("a" if gender == "f" else "o")
        return form + "s" if plural else form
    if not plural:
        return base
    return _ES_PLURAL.get(base, base + "s")


# Verbs: infinitive, english (base, 3rd singular, past), object tags ("" = intransitive),
# and irregular Spanish forms: present, preterite, future (5 persons each: yo, tú,
# él/ella, nosotros, ellos/ellas).
_VERBS = [
    ("comer", ("eat", "eats", "ate"), "food", {}),
    ("beber", ("drink", "drinks", "drank"), "drink", {}),
    ("leer", ("read", "reads", "read"), "read",
     {PAST: ["leí", "leíste", "leyó", "leímos", "leyeron"]}),
    ("escribir", ("write", "writes", "wrote"), "read", {}),
    ("comprar", ("buy", "buys", "bought"), "food drink read thing", {}),
    ("vender", ("sell", "sells", "sold"), "thing read", {}),
    ("ver", ("see", "sees", "saw"), "thing animal person place",
     {PRESENT: ["veo", "ves", "ve", "vemos", "ven"], PAST: ["vi", "viste", "vio", "vimos",
                                                             "vieron"]}),
    ("tener", ("have", "has", "had"), "thing animal",
     {PRESENT: ["tengo", "tienes", "tiene", "tenemos", "tienen"],
      PAST: ["tuve", "tuviste", "tuvo", "tuvimos", "tuvieron"],
      FUTURE: ["tendré", "tendrás", "tendrá", "tendremos", "tendrán"]}),
    ("querer", ("want", "wants", "wanted"), "thing food drink animal",
     {PRESENT: ["quiero", "quieres", "quiere", "queremos", "quieren"],
      PAST: ["quise", "quisiste", "quiso", "quisimos", "quisieron"],
      FUTURE: ["querré", "querrás", "querrá", "querremos", "querrán"]}),
    ("abrir", ("open", "opens", "opened"), "open", {}),
    ("cerrar", ("close", "closes", "closed"), "open",
     {PRESENT: ["cierro", "cierras", "cierra", "cerramos", "cierran"]}),
    ("lavar", ("wash", "washes", "washed"), "wash", {}),
    ("pintar", ("paint", "paints", "painted"), "open thing place", {}),
    ("necesitar", ("need", "needs", "needed"), "thing food drink", {}),
    ("cocinar", ("cook", "cooks", "cooked"), "food", {}),
    ("limpiar", ("clean", "cleans", "cleaned"), "wash place", {}),
    ("romper", ("break", "breaks", "broke"), "break", {}),
    ("encontrar", ("find", "finds", "found"), "thing read animal",
     {PRESENT: ["encuentro", "encuentras", "encuentra", "encontramos", "encuentran"]}),
    ("llevar", ("carry", "carries", "carried"), "thing", {}),
    ("mirar", ("watch", "watches", "watched"), "person animal thing", {}),
    ("dormir", ("sleep", "sleeps", "slept"), "",
     {PRESENT: ["duermo", "duermes", "duerme", "dormimos", "duermen"],
      PAST: ["dormí", "dormiste", "durmió", "dormimos", "durmieron"]}),
    ("correr", ("run", "runs", "ran"), "", {}),
    ("trabajar", ("work", "works", "worked"), "", {}),
    ("cantar", ("sing", "sings", "sang"), "", {}),
    ("bailar", ("dance", "dances", "danced"), "", {}),
    ("nadar", ("swim", "swims", "swam"), "", {}),
    ("caminar", ("walk", "walks", "walked"), "", {}),
    ("estudiar", ("study", "studies", "studied"), "", {}),
    ("vivir", ("live", "lives", "lived"), "", {}),
    ("jugar", ("play", "plays", "played"), "",
     {PRESENT: ["juego", "juegas", "juega", "jugamos", "juegan"],
      PAST: ["jugué", "jugaste", "jugó", "jugamos", "jugaron"]}),
]

_ENDINGS = {
    "ar": {PRESENT: ["o", "as", "a", "amos", "an"], PAST: ["é", "aste", "ó", "amos", "aron"]},
    "er": {PRESENT: ["o", "es", "e", "emos", "en"], PAST: ["í", "iste", "ió", "imos", "ieron"]},
    "ir": {PRESENT: ["o", "es", "e", "imos", "en"], PAST: ["í", "iste", "ió", "imos", "ieron"]},
}
_FUTURE_ENDINGS = ["é", "ás", "á", "emos", "án"]


def _conjugate(infinitive: str, irregular: dict, tense: str, person: int) -> str:
    if tense in irregular:
        return irregular[tense][person]
    if tense == FUTURE:
        return infinitive + _FUTURE_ENDINGS[person]
    return infinitive[:-2] + _ENDINGS[infinitive[-2:]][tense][person]


# Subject pronouns: (spanish, english, person 0..4, gender, may be dropped).
_PRONOUNS = [
    ("yo", "I", 0, None, True),
    ("tú", "you", 1, None, True),
    ("él", "he", 2, "m", False),
    ("ella", "she", 2, "f", False),
    ("nosotros", "we", 3, "m", True),
    ("nosotras", "we", 3, "f", True),
    ("ellos", "they", 4, "m", True),
    ("ellas", "they", 4, "f", True),
]
_BE = {
    PRESENT: (["soy", "eres", "es", "somos", "son"], ["am", "are", "is", "are", "are"]),
    PAST: (["era", "eras", "era", "éramos", "eran"], ["was", "were", "was", "were", "were"]),
    FUTURE: (["seré", "serás", "será", "seremos", "serán"], None),
}
# estar, "to be" of where someone is: present and imperfect.
_ESTAR = {PRESENT: (["estoy", "estás", "está", "estamos", "están"], _BE[PRESENT][1]),
          PAST: (["estaba", "estabas", "estaba", "estábamos", "estaban"], _BE[PAST][1])}
_BE_NOT = {"am": "am not", "are": "aren't", "is": "isn't", "was": "wasn't", "were": "weren't"}
_TIME = {PRESENT: [("hoy", "today"), ("ahora", "now")], PAST: [("ayer", "yesterday")],
         FUTURE: [("mañana", "tomorrow")]}
_PLACE_PREPOSITION = {"casa": "in", "parque": "in", "jardín": "in", "ciudad": "in",
                      "escuela": "at", "oficina": "at", "cocina": "in", "río": "in"}


class _Builder:
    """Accumulates the two token lists and their links."""

    def __init__(self):
        self.es: list[str] = []
        self.en: list[str] = []
        self.links: list[tuple[int, int]] = []
        self.content: list[bool] = []

    def es_word(self, word: str) -> int:
        self.es.append(word)
        return len(self.es) - 1

    def en_word(self, word: str, content: bool = False) -> int:
        self.en.append(word)
        self.content.append(content)
        return len(self.en) - 1

    def link(self, es_index: int | Sequence[int], en_index: int) -> None:
        for s in [es_index] if isinstance(es_index, int) else es_index:
            self.links.append((s, en_index))


@dataclasses.dataclass
class _NounPhrase:
    es: list[str]
    en: list[str]
    # links inside the phrase: (es position, en position, content)
    links: list[tuple[int, int]]
    en_content: list[bool]
    person: int
    gender: str
    plural: bool
    noun: tuple

    def emit_es(self, b: _Builder) -> list[int]:
        return [b.es_word(w) for w in self.es]

    def emit_en(self, b: _Builder) -> list[int]:
        return [b.en_word(w, c) for w, c in zip(self.en, self.en_content, strict=True)]

    def connect(self, b: _Builder, es_at: list[int], en_at: list[int]) -> None:
        for s, e in self.links:
            b.link(es_at[s], en_at[e])


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.nouns_by_tag: dict[str, list[tuple]] = {}
        for noun in _NOUNS:
            for tag in noun[5].split():
                self.nouns_by_tag.setdefault(tag, []).append(noun)
        self.transitive_verbs = [v for v in _VERBS if v[2]]
        self.intransitive_verbs = [v for v in _VERBS if not v[2]]

    # Noun phrases -------------------------------------------------------------------------
    def noun_phrase(self, tags: str, allow_bare: bool = False) -> _NounPhrase:
        rng = self.rng
        pool = [n for t in tags.split() for n in self.nouns_by_tag.get(t, [])]
        noun = rng.choice(pool)
        es_sg, es_pl, gender, en_sg, en_pl, noun_tags = noun
        mass = "mass" in noun_tags
        plural = not mass and rng.random() < 0.4
        kinds = ["the", "the", "this", "my", "your", "our"]
        if not mass:
            kinds.append("a")
        if allow_bare and (mass or plural):
            kinds.append("bare")
        kind = rng.choice(kinds)
        n = 1 if plural else 0
        f = gender == "f"
        es_det = {
            "the": [["el", "la"], ["los", "las"]],
            "a": [["un", "una"], ["unos", "unas"]],
            "this": [["este", "esta"], ["estos", "estas"]],
            "my": [["mi", "mi"], ["mis", "mis"]],
            "your": [["tu", "tu"], ["tus", "tus"]],
            "our": [["nuestro", "nuestra"], ["nuestros", "nuestras"]],
            "bare": [[None, None], [None, None]],
        }[kind][n][int(f)]
        en_det = {"the": "the", "a": "some" if plural else "a", "this": "these" if plural
                  else "this", "my": "my", "your": "your", "our": "our", "bare": None}[kind]
        adjective = None
        if rng.random() < 0.45:
            fitting = [a for a in _ADJECTIVES if set(a[2].split()) & set(noun_tags.split())]
            if fitting:
                adjective = rng.choice(fitting)
        es, en, links, content = [], [], [], []
        if es_det:
            es.append(es_det)
        noun_es = len(es)
        es.append(es_pl if plural else es_sg)
        if adjective:
            es.append(_adjective(adjective[0], gender, plural))
        if en_det:
            en.append(en_det)
            content.append(False)
            links.append((0, 0))
        if adjective:
            links.append((noun_es + 1, len(en)))
            en.append(adjective[1])
            content.append(True)
        links.append((noun_es, len(en)))
        en.append(en_pl if plural else en_sg)
        content.append(True)
        if en_det == "a" and en[1][0] in "aeiou":
            en[0] = "an"
        return _NounPhrase(es, en, links, content, 4 if plural else 2, gender, plural, noun)

    # Sentences ----------------------------------------------------------------------------
    def sentence(self) -> GeneratedPair:
        kind = self.rng.choices(
            ["transitive", "intransitive", "clitic", "yes_no", "wh", "copula", "whereabouts"],
            weights=[30, 15, 13, 12, 14, 16, 10],
        )[0]
        return getattr(self, kind)()

    def subject(self):
        """Chooses a subject: (noun phrase, None) or (None, pronoun entry)."""
        rng = self.rng
        if rng.random() < 0.5:
            return self.noun_phrase("person animal"), None
        pronoun = rng.choice(_PRONOUNS)
        return None, pronoun

    def transitive(self, clitic: bool = False) -> GeneratedPair:
        rng = self.rng
        b = _Builder()
        verb = rng.choice(self.transitive_verbs)
        tense = rng.choice(TENSES)
        negative = rng.random() < 0.3
        np_subject, pronoun = self.subject()
        obj = None if clitic else self.noun_phrase(verb[2], allow_bare=True)
        person = np_subject.person if np_subject else pronoun[2]
        # Spanish: [subject] [no] [clitic] verb [a] [object] .
        es_subject = self._spanish_subject(b, np_subject, pronoun)
        es_no = b.es_word("no") if negative else None
        es_clitic = None
        if clitic:
            plural = rng.random() < 0.35
            es_clitic = b.es_word(("los" if plural else "lo") if rng.random() < 0.5
                                  else ("las" if plural else "la"))
        es_verb = b.es_word(_conjugate(verb[0], verb[3], tense, person))
        es_object = []
        if obj:
            es_object = _personal_a(obj).emit_es(b)
        time = None
        if rng.random() < 0.2:
            time = rng.choice(_TIME[tense])
            es_time = b.es_word(time[0])
        es_stop = b.es_word(".")
        # English: subject [aux not] verb object .
        self._english_subject(b, np_subject, pronoun, es_subject, es_verb)
        self._english_verb(b, verb[1], tense, person, negative, es_verb, es_no)
        if clitic:
            b.link(es_clitic, b.en_word("them" if b.es[es_clitic].endswith("s") else "it"))
        if obj:
            en_object = obj.emit_en(b)
            obj.connect(b, es_object, en_object)
        if time:
            b.link(es_time, b.en_word(time[1], content=True))
        b.link(es_stop, b.en_word("."))
        return _finish(b)

    def _spanish_subject(self, b, np_subject, pronoun) -> list[int]:
        """Emits the Spanish subject; a pronoun that the verb's ending makes clear is
        dropped half the time (``Comemos`` for ``Nosotros comemos``)."""
        if np_subject:
            return np_subject.emit_es(b)
        if pronoun[4] and self.rng.random() < 0.5:
            return []
        return [b.es_word(pronoun[0])]

    @staticmethod
    def _english_subject(b, np_subject, pronoun, es_subject, es_verb) -> None:
        """Emits the English subject; a dropped Spanish pronoun aligns with the verb."""
        if np_subject:
            np_subject.connect(b, es_subject, np_subject.emit_en(b))
        else:
            b.link(es_subject or [es_verb], b.en_word(pronoun[1]))

    def clitic(self) -> GeneratedPair:
        return self.transitive(clitic=True)

    def _english_verb(self, b, english, tense, person, negative, es_verb, es_no):
        base, third, past = english
        if negative:
            aux = {PRESENT: "doesn't" if person == 2 else "don't", PAST: "didn't",
                   FUTURE: "won't"}[tense]
            b.link(es_no, b.en_word(aux))
            b.link(es_verb, b.en_word(base, content=True))
        elif tense == FUTURE:
            b.link(es_verb, b.en_word("will"))
            b.link(es_verb, b.en_word(base, content=True))
        else:
            form = past if tense == PAST else (third if person == 2 else base)
            b.link(es_verb, b.en_word(form, content=True))

    def intransitive(self) -> GeneratedPair:
        rng = self.rng
        b = _Builder()
        verb = rng.choice(self.intransitive_verbs)
        tense = rng.choice(TENSES)
        negative = rng.random() < 0.25
        np_subject, pronoun = self.subject()
        person = np_subject.person if np_subject else pronoun[2]
        es_subject = self._spanish_subject(b, np_subject, pronoun)
        es_no = b.es_word("no") if negative else None
        es_verb = b.es_word(_conjugate(verb[0], verb[3], tense, person))
        place = self.noun_phrase("place") if rng.random() < 0.5 else None
        if place:
            es_en = b.es_word("en")
            es_place = place.emit_es(b)
        time = rng.choice(_TIME[tense]) if rng.random() < 0.3 else None
        if time:
            es_time = b.es_word(time[0])
        es_stop = b.es_word(".")
        self._english_subject(b, np_subject, pronoun, es_subject, es_verb)
        self._english_verb(b, verb[1], tense, person, negative, es_verb, es_no)
        if place:
            b.link(es_en, b.en_word(_PLACE_PREPOSITION[place.noun[0]]))
            place.connect(b, es_place, place.emit_en(b))
        if time:
            b.link(es_time, b.en_word(time[1], content=True))
        b.link(es_stop, b.en_word("."))
        return _finish(b)

    def yes_no(self) -> GeneratedPair:
        """¿Verb subject object? -> Do/Does/Did/Will subject verb object?"""
        rng = self.rng
        b = _Builder()
        verb = rng.choice(self.transitive_verbs)
        tense = rng.choice(TENSES)
        subject = self.noun_phrase("person animal")
        obj = self.noun_phrase(verb[2], allow_bare=True)
        es_open = b.es_word("¿")
        es_verb = b.es_word(_conjugate(verb[0], verb[3], tense, subject.person))
        es_subject = subject.emit_es(b)
        es_object = _personal_a(obj).emit_es(b)
        es_close = b.es_word("?")
        aux = {PRESENT: "Does" if subject.person == 2 else "Do", PAST: "Did",
               FUTURE: "Will"}[tense]
        b.link(es_verb, b.en_word(aux))
        subject.connect(b, es_subject, subject.emit_en(b))
        b.link(es_verb, b.en_word(verb[1][0], content=True))
        obj.connect(b, es_object, obj.emit_en(b))
        b.link(es_close, b.en_word("?"))
        del es_open
        return _finish(b)

    def wh(self) -> GeneratedPair:
        """¿Qué/Dónde ... ? and ¿Quién ... ?, with English do-support."""
        rng = self.rng
        b = _Builder()
        tense = rng.choice(TENSES)
        question = rng.choice(["what", "where", "who"])
        b.es_word("¿")
        if question == "who":
            verb = rng.choice(self.transitive_verbs)
            obj = self.noun_phrase(verb[2])
            es_who = b.es_word("quién")
            es_verb = b.es_word(_conjugate(verb[0], verb[3], tense, 2))
            es_object = _personal_a(obj).emit_es(b)
            es_close = b.es_word("?")
            b.link(es_who, b.en_word("Who"))
            self._english_verb(b, verb[1], tense, 2, False, es_verb, None)
            obj.connect(b, es_object, obj.emit_en(b))
            b.link(es_close, b.en_word("?"))
            return _finish(b)
        verb = rng.choice(self.transitive_verbs if question == "what" else self.intransitive_verbs)
        subject = self.noun_phrase("person animal")
        es_wh = b.es_word("qué" if question == "what" else "dónde")
        es_verb = b.es_word(_conjugate(verb[0], verb[3], tense, subject.person))
        es_subject = subject.emit_es(b)
        es_close = b.es_word("?")
        b.link(es_wh, b.en_word(question.capitalize()))
        aux = {PRESENT: "does" if subject.person == 2 else "do", PAST: "did",
               FUTURE: "will"}[tense]
        b.link(es_verb, b.en_word(aux))
        subject.connect(b, es_subject, subject.emit_en(b))
        b.link(es_verb, b.en_word(verb[1][0], content=True))
        b.link(es_close, b.en_word("?"))
        return _finish(b)

    def copula(self) -> GeneratedPair:
        """Subject ser adjective: agreement of the adjective with the subject."""
        rng = self.rng
        b = _Builder()
        tense = rng.choice(TENSES)
        negative = rng.random() < 0.3
        if rng.random() < 0.6:
            subject = self.noun_phrase("thing person animal place food")
            subject_tags = subject.noun[5]
            person, gender, plural, pronoun = subject.person, subject.gender, subject.plural, None
        else:
            subject, pronoun = None, rng.choice(_PRONOUNS)
            subject_tags = "person"
            person = pronoun[2]
            gender = pronoun[3] or rng.choice("mf")
            plural = person >= 3
        fitting = [a for a in _ADJECTIVES if set(a[2].split()) & set(subject_tags.split())]
        adjective = rng.choice(fitting)
        drop = pronoun is not None and pronoun[4] and rng.random() < 0.5
        es_subject = subject.emit_es(b) if subject else ([] if drop else [b.es_word(pronoun[0])])
        es_no = b.es_word("no") if negative else None
        es_be = b.es_word(_BE[tense][0][person])
        es_adjective = b.es_word(_adjective(adjective[0], gender, plural))
        es_stop = b.es_word(".")
        en_subject = subject.emit_en(b) if subject else [b.en_word(pronoun[1])]
        if subject:
            subject.connect(b, es_subject, en_subject)
        else:
            b.link(es_subject or [es_be], en_subject[0])
        if tense == FUTURE:
            b.link(es_no if negative else es_be, b.en_word("won't" if negative else "will"))
            b.link(es_be, b.en_word("be"))
        else:
            be = _BE[tense][1][person]
            b.link(es_be, b.en_word(be))
            if negative:
                if be == "am":
                    b.link(es_no, b.en_word("not"))
                else:
                    b.en[-1] = _BE_NOT[be]
                    b.link(es_no, len(b.en) - 1)
        b.link(es_adjective, b.en_word(adjective[1], content=True))
        b.link(es_stop, b.en_word("."))
        return _finish(b)

    def whereabouts(self) -> GeneratedPair:
        """Where someone is, with estar, perhaps ``todavía`` (still), as a statement (``Mi
        padre todavía está en la cocina.``) or a question (``¿Todavía está en casa?`` / ``Is
        he still at home?``); ``en casa`` is ``at home``. A question may drop any pronoun
        (the English then names it: he or she for ``está``)."""
        rng = self.rng
        b = _Builder()
        tense = rng.choice([PRESENT, PRESENT, PAST])
        question = rng.random() < 0.45
        still = rng.random() < 0.5
        np_subject, pronoun = self.subject()
        person = np_subject.person if np_subject else pronoun[2]
        home = rng.random() < 0.35
        place = None if home else self.noun_phrase("place")
        es_todavia = es_subject = None
        if question:
            b.es_word("¿")
            if still:
                es_todavia = b.es_word("todavía")
            es_be = b.es_word(_ESTAR[tense][0][person])
            if np_subject:
                es_subject = np_subject.emit_es(b)
            elif rng.random() < 0.5:
                es_subject = [b.es_word(pronoun[0])]
        else:
            es_subject = self._spanish_subject(b, np_subject, pronoun)
            if still:
                es_todavia = b.es_word("todavía")
            es_be = b.es_word(_ESTAR[tense][0][person])
        es_en = b.es_word("en")
        es_place = [b.es_word("casa")] if home else place.emit_es(b)
        es_stop = b.es_word("?" if question else ".")
        be = _ESTAR[tense][1][person]
        if question:
            b.link(es_be, b.en_word(be.capitalize()))
        self._english_subject(b, np_subject, pronoun, es_subject, es_be)
        if not question:
            b.link(es_be, b.en_word(be))
        if still:
            b.link(es_todavia, b.en_word("still", content=True))
        if home:
            b.link(es_en, b.en_word("at"))
            b.link(es_place[0], b.en_word("home", content=True))
        else:
            b.link(es_en, b.en_word(_PLACE_PREPOSITION[place.noun[0]]))
            place.connect(b, es_place, place.emit_en(b))
        b.link(es_stop, b.en_word("?" if question else "."))
        return _finish(b)


def _personal_a(obj: _NounPhrase) -> _NounPhrase:
    """A person or animal as direct object takes "a" in Spanish ("a + el" is "al")."""
    if "person" in obj.noun[5] or "animal" in obj.noun[5]:
        if obj.es and obj.es[0] == "el":
            obj.es[0] = "al"
        else:
            obj.es.insert(0, "a")
            obj.links = [(s + 1, e) for s, e in obj.links]
    return obj


def _render(tokens: Sequence[str]) -> str:
    text = ""
    for token in tokens:
        if token in ".,?!" or not text or text.endswith(("¿", "¡")):
            text += token
        else:
            text += " " + token
    for i, ch in enumerate(text):
        if ch.isalpha():
            return text[:i] + ch.upper() + text[i + 1 :]
    return text


def _finish(b: _Builder) -> GeneratedPair:
    english_tokens = [w.lower() for w in b.en]
    return GeneratedPair(
        english=_render(b.en),
        spanish=_render(b.es),
        english_tokens=tuple(english_tokens),
        spanish_tokens=tuple(w.lower() for w in b.es),
        alignment=tuple(sorted(set(b.links))),
        content=tuple(b.content),
    )


def generate_pairs(count: int, seed: int = 0) -> list[GeneratedPair]:
    """Returns ``count`` distinct sentence pairs, the same for the same seed.

    Raises:
        ValueError: if ``count`` is more than the generator can make distinct (about 10^6).
    """
    if count < 1:
        raise ValueError(f"count must be positive, received {count}")
    generator = _Generator(seed)
    seen: set[tuple[str, str]] = set()
    pairs: list[GeneratedPair] = []
    attempts = 0
    while len(pairs) < count:
        attempts += 1
        if attempts > 20 * count + 1000:
            raise ValueError(f"cannot generate {count} distinct pairs; ask for fewer")
        pair = generator.sentence()
        key = (pair.english, pair.spanish)
        if key not in seen:
            seen.add(key)
            pairs.append(pair)
    return pairs


def iter_lines(pairs: Sequence[GeneratedPair]) -> Iterator[str]:
    for pair in pairs:
        yield f"{pair.english}\t{pair.spanish}\n"


def write_pairs(path: str | os.PathLike, pairs: Sequence[GeneratedPair]) -> Path:
    """Writes ``English<TAB>Spanish`` lines, the format of the tutorial's spa.txt."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(iter_lines(pairs)), encoding="utf-8")
    return path


def write_alignments(path: str | os.PathLike, pairs: Sequence[GeneratedPair]) -> Path:
    """One line a pair, Pharaoh format ``spanish-english`` index pairs: ``0-0 2-1 1-2``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (" ".join(f"{s}-{e}" for s, e in p.alignment) + "\n" for p in pairs)
    path.write_text("".join(lines), encoding="utf-8")
    return path
