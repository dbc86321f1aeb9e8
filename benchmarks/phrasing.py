"""The loose-phrasing front end: per-question parse time and import cost.

    .venv/bin/python -m benchmarks.phrasing [--rounds 50]

* **Parse**: every phrasing of tests/phrasing_corpus.yaml (200+, loose and strict, typos,
  asks, not understood) through ``parse_question`` — the strict grammar, then the front
  end when it refuses — with the vocabulary the tests use (dbt's metric synonyms, the
  demo data's values and experiment ids), ``--rounds`` interleaved rounds after one
  warm-up round. p50/p95/p99/max per question; target p99 < 5 ms (exits 1 otherwise).
* **First question**: the first loose question in a fresh process (builds the lexicon).
* **Imports** (fresh processes): ``bot.core.phrasing`` on top of ``bot.core.questions``,
  and whether it pulls in pandas, numpy, matplotlib, MetricFlow, DuckDB or YAML that
  ``bot.core.questions`` hadn't (it must not: start-up time, issue #20).
"""

from __future__ import annotations

import argparse
import json
import time

import yaml

from benchmarks.common import ROOT, fmt_ms, machine, run_python, summary, table, write_result

TARGET_P99_MS = 5.0
_COLD = """
import json, sys, time
t0 = time.perf_counter()
import bot.core.questions
t1 = time.perf_counter()
before = set(sys.modules)
import bot.core.phrasing
t2 = time.perf_counter()
added = set(sys.modules) - before
from tests.phrasing_support import AS_OF, yaml_vocabulary
vocabulary = yaml_vocabulary()
t3 = time.perf_counter()
bot.core.questions.parse_question("what were sales in the past fortnight?", AS_OF, vocabulary)
t4 = time.perf_counter()
heavy = sorted(m for m in ("pandas", "numpy", "matplotlib", "metricflow", "duckdb", "yaml")
               if m in added)
print(json.dumps({"questions_s": t1 - t0, "phrasing_s": t2 - t1, "first_loose_s": t4 - t3,
                  "heavy_modules": heavy}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    from bot.core.questions import ParseError, parse_question
    from tests.phrasing_support import AS_OF, yaml_vocabulary

    corpus = yaml.safe_load((ROOT / "tests" / "phrasing_corpus.yaml").read_text())
    texts = [entry["text"] for entry in corpus]
    vocabulary = yaml_vocabulary()
    for text in texts:  # warm-up: the lexicon is built once per vocabulary
        parse_question(text, AS_OF, vocabulary)
    samples: list[float] = []
    by_outcome: dict[str, list[float]] = {"strict": [], "understood": [], "asked or refused": []}
    for _ in range(args.rounds):
        for text in texts:
            start = time.perf_counter()
            parsed = parse_question(text, AS_OF, vocabulary)
            elapsed = time.perf_counter() - start
            samples.append(elapsed)
            if isinstance(parsed, ParseError):
                by_outcome["asked or refused"].append(elapsed)
            elif getattr(parsed, "understood", None) is None:
                by_outcome["strict"].append(elapsed)
            else:
                by_outcome["understood"].append(elapsed)

    cold = [json.loads(run_python(["-c", _COLD]).stdout) for _ in range(5)]
    overall = summary(samples)
    outcomes = {name: summary(values) for name, values in by_outcome.items()}
    cold_summary = {
        key: summary(c[key] for c in cold) for key in ("questions_s", "phrasing_s", "first_loose_s")
    }
    heavy = sorted({m for c in cold for m in c["heavy_modules"]})

    print(f"{len(texts)} phrasings × {args.rounds} rounds")
    rows = [
        [
            "all",
            overall["n"],
            *(fmt_ms(overall[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
        ]
    ]
    for name, s in outcomes.items():
        rows.append(
            [name, s["n"], *(fmt_ms(s.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))]
        )
    print(table(["questions", "n", "p50", "p95", "p99", "max"], rows))
    print("\nfresh processes (5), median:")
    print(f"  import bot.core.questions        {fmt_ms(cold_summary['questions_s']['p50_ms'])}")
    print(f"  + import bot.core.phrasing       {fmt_ms(cold_summary['phrasing_s']['p50_ms'])}")
    print(f"  first loose question (lexicon)   {fmt_ms(cold_summary['first_loose_s']['p50_ms'])}")
    print(f"  heavy modules bot.core.phrasing adds: {', '.join(heavy) or 'none'}")
    write_result(
        "phrasing",
        {
            "machine": machine(),
            "rounds": args.rounds,
            "phrasings": len(texts),
            "parse": overall,
            "by_outcome": outcomes,
            "cold": cold_summary,
            "heavy_modules": heavy,
        },
    )
    ok = overall["p99_ms"] < TARGET_P99_MS and not heavy
    if not ok:
        print(f"\nFAIL: p99 must be < {TARGET_P99_MS} ms and no heavy module imported")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
