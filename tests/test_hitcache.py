"""The rule-hit cache: what is recorded for a document comes back the same, or not at all."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import QualcodeWarning
from qualcode.hitcache import HitCache, record_hits, restore_hits
from qualcode.rules import RuleHit

KEYWORDS = [("formation", "former les équipes"), ("ethique", "consentement"), ("frein", "frein")]
PATTERNS = [("top_down", "pattern:impose_par_la_direction"), ("frein", "pattern:manque_de")]
SIGNATURES = {key: f"sig-{n}" for n, key in enumerate(KEYWORDS + PATTERNS)}

TEXT = st.text(min_size=1, max_size=30)
NEGATION = st.one_of(st.none(), st.sampled_from(["pas", "jamais", "sans", "aucun"]))


@st.composite
def found(draw):
    """Keyword and pattern hits of a document with a few units: (keywords, patterns)."""
    units = draw(st.integers(min_value=1, max_value=6))
    parts = []
    for keys, kind in ((KEYWORDS, "keyword"), (PATTERNS, "pattern")):
        part = [{} for _ in range(units)]
        for unit in range(units):
            for code_id, rule in draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))):
                start = draw(st.integers(min_value=0, max_value=10_000))
                name = rule.removeprefix("pattern:")
                part[unit][code_id, rule] = RuleHit(code_id, kind, name, draw(TEXT), start,
                                                    start + draw(st.integers(1, 50)), draw(NEGATION))
        parts.append(part)
    return units, parts


@settings(max_examples=60, deadline=None)
@given(found())
def test_recorded_hits_come_back_as_they_were(tmp_path_factory, document):
    units, (keywords, patterns) = document
    entry: dict = {}
    record_hits(entry, SIGNATURES, keywords, patterns)
    cache = HitCache(tmp_path_factory.mktemp("hits"))
    ranges = [(k * 10, k * 10 + 10) for k in range(units)]
    cache.store("doc", ranges, entry)
    loaded = cache.load("doc", ranges)
    assert loaded == entry
    assert restore_hits(loaded, SIGNATURES, units) == (keywords, patterns)
    assert cache.load("doc", [*ranges[:-1], (0, 1)]) == {}  # other units: another entry


def test_only_the_given_rules_are_recorded_and_restored():
    hit = RuleHit("frein", "keyword", "frein", "frein", 0, 5)
    entry: dict = {}
    record_hits(entry, {("frein", "frein"): "sig-frein"}, [{("frein", "frein"): hit,
                                                            ("ethique", "consentement"): hit}])
    assert entry == {"sig-frein": [[0, "frein", 0, 5, None]]}
    keywords, patterns = restore_hits(entry, {("frein", "frein"): "sig-frein"}, 2)
    assert keywords == [{("frein", "frein"): hit}, {}] and patterns == [{}, {}]


@pytest.mark.parametrize("damage", [b"", b"\x00not msgpack\xff", None])
def test_a_damaged_entry_is_reported_and_ignored(tmp_path, damage):
    cache = HitCache(tmp_path)
    cache.store("doc", [(0, 3)], {"sig": [[0, "a", 0, 1, None]]})
    [path] = tmp_path.glob("*.qchits")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"sig", b"sug") if damage is None else damage)  # None: checksum
    with pytest.warns(QualcodeWarning, match="corrupt rule-hit cache entry"):
        assert cache.load("doc", [(0, 3)]) == {}


def test_without_a_folder_nothing_is_kept(tmp_path):
    cache = HitCache(None)
    cache.store("doc", [(0, 3)], {"sig": []})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load("doc", [(0, 3)]) == {}
