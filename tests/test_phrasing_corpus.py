"""The phrasing corpus (tests/phrasing_corpus.yaml): 200 ways people ask, each with the
canonical question it must mean, a question it must ask, or a known-not-understood case
whose reply must help. Pure and fast: the vocabulary's metric synonyms are dbt's own
(``_metrics.yml``), read by tests/phrasing_support.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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
