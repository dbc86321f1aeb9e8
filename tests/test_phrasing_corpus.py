"""The phrasing corpus (tests/phrasing_corpus.yaml): 200 ways people ask, each with the
canonical question it must mean, a question it must ask, or a known-not-understood case
whose reply must help. Pure and fast: the vocabulary's metric synonyms are dbt's own
(``_metrics.yml``), read by tests/phrasing_support.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.questions import INTERNAL_ERROR, ParseError, parse_question, parse_strict
from tests.phrasing_support import AS_OF, yaml_vocabulary

CORPUS = yaml.safe_load((Path(__file__).parent / "phrasing_corpus.yaml").read_text())
VOCAB = yaml_vocabulary()


def _kind(entry: dict) -> str:
    return next(k for k in entry if k != "text")


@pytest.mark.parametrize("entry", CORPUS, ids=[e["text"] for e in CORPUS])
def test_each_phrasing_means_what_it_says(entry: dict) -> None:
    text = entry["text"]
    parsed = parse_question(text, AS_OF, VOCAB)
    kind = _kind(entry)
    if kind == "means" and entry["means"] == "strict":
        assert not isinstance(parsed, ParseError), parsed
        assert parsed.understood is None  # untouched: no "Understood as"
        assert parsed == parse_strict(text, AS_OF, VOCAB)
    elif kind == "means":
        canonical = entry["means"]
        assert not isinstance(parsed, ParseError), parsed
        assert parsed.understood is not None and parsed.understood.canonical == canonical
        strict = parse_strict(canonical, AS_OF, VOCAB)
        assert not isinstance(strict, ParseError) and strict.understood is None, strict
        assert parsed == strict  # the same question the canonical text asks
        assert isinstance(parse_strict(text, AS_OF, VOCAB), ParseError)  # truly loose
    elif kind == "asks":
        assert isinstance(parsed, ParseError), parsed
        assert sorted(parsed.choices) == sorted(entry["asks"])
        for choice in parsed.choices:  # every button runs
            assert not isinstance(parse_strict(choice, AS_OF, VOCAB), ParseError), choice
    else:
        assert isinstance(parsed, ParseError), parsed
        assert entry["not_understood"] in parsed.message
        assert parsed.message != INTERNAL_ERROR and "Traceback" not in parsed.message
        assert parsed.example.startswith("/kpi ")
        for choice in parsed.choices:
            assert not isinstance(parse_strict(choice, AS_OF, VOCAB), ParseError), choice


def test_the_corpus_is_big_and_varied_and_the_readme_reports_its_share() -> None:
    kinds = [_kind(e) for e in CORPUS]
    understood = sum(k == "means" for k in kinds)
    assert len(CORPUS) >= 150 and len({e["text"].lower() for e in CORPUS}) == len(CORPUS)
    assert {"means", "asks", "not_understood"} <= set(kinds)
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    share = f"{understood} of {len(CORPUS)} ({understood / len(CORPUS):.0%})"
    assert share in readme, f"README should report: {share}"


POOL = st.sampled_from(
    ["sales", "revenue", "in", "for", "brazil", "women", "top", "best", "worst", "3", "by",
     "per", "week", "lately", "fortnight", "between", "oct", "1", "and", "31", "2025-10-01",
     "..", "test", "pricing", "checkout", "checkout_redsign", "so", "far", "this", "month",
     "ab", "funnel", "retention", "digset", "since", "may", "vs", "last", "year", "two",
     "weeks", "country", "categories", "margin", "aov", "new", "sign-ups", "9999", "feb",
     "29", "the", "revnue", "<!channel>", "`", "&", "*", "\u202e", "²", "İ", ",", "?"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(POOL, min_size=1, max_size=9),
    st.sampled_from([AS_OF, date(1, 1, 1), date(9999, 12, 31)]),
)
def test_any_mix_of_loose_words_is_a_question_or_a_safe_reply(words: list[str], as_of) -> None:
    parsed = parse_question(" ".join(words), as_of, VOCAB)
    if not isinstance(parsed, ParseError):
        return
    assert parsed.message != INTERNAL_ERROR  # the safety net never had to catch
    for shown in (parsed.message, parsed.example):
        assert "<!" not in shown and "<@" not in shown
    for choice in parsed.choices:  # every button runs
        assert not isinstance(parse_strict(choice, as_of, VOCAB), ParseError), choice
