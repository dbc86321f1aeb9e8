"""Hostile command text: ≥ 10,000 generated inputs → an answer or usage help, never a crash,
never a ping, never broken Block Kit, and never user text inside SQL.

The texts come from a seeded generator (same 10,000+ strings every run) mixing unicode,
control characters, SQL fragments, Slack mention and link syntax, mrkdwn markup, HTML
entities and 10 kB strings, behind every subcommand. Each goes through
``KpiService.ask`` on the built demo warehouse and ``bot.render.blocks``.

What DuckDB executed is read back from DuckDB's own query log (``enable_logging``),
so the check that user text only travels as bound parameters doesn't rely on the
adapter reporting on itself.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from slack_sdk.models.blocks import Block

from benchmarks.load import SECRET, running_bot
from bot.answers import (
    DigestCommandAnswer,
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    HelpAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core.questions import (
    INTERNAL_ERROR,
    ExperimentQuestion,
    HelpQuestion,
    ParseError,
    parse_question,
)
from bot.kinds import answer_blocks, answer_text
from bot.service import KpiService
from bot.warehouse.base import QUERY_DIR, MartReader, render_query
from bot.warehouse.duckdb_adapter import MARTS_SCHEMA, DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body

CLOCK = datetime.combine(DEMO_END + timedelta(days=1), datetime.min.time()) + timedelta(hours=8)
N_TEXTS = 10_000
SEED = 20261125

# ----------------------------------------------------------------------------- generator

UNICODE = [
    "é", "ß", "日本語", "Ω≈ç√", "😀", "👩‍👩‍👧", "🇺🇸", "e\u0301", "İ", "ﬁ", "Ⅻ", "１２", "٣٤",
    "\u202e", "\u202d", "\u200b", "\u200d", "\ufeff", "\u2028", "\u2029", "\u00a0", "\u3000",
    "\ud800", "\udfff", "\U0010ffff", "\ufffd", "𝕣𝕖𝕧𝕖𝕟𝕦𝕖", "ʳᵉᵛᵉⁿᵘᵉ", "ＲＥＶＥＮＵＥ",
]  # fmt: skip
CONTROL = [chr(i) for i in range(32)] + ["\x7f", "\x85", "\x9b"]
SQL = [
    "'", '"', "';", "' OR '1'='1", "1; DROP TABLE revenue_daily; --", '" or 1=1 --',
    "UNION SELECT * FROM thelook.orders", "x' UNION SELECT 1,2,3,4,5 --", "$experiment_id",
    "@start_day", "@experiment_id", "{{ marts }}", "--", "/*", "*/", "%s", "?", "\\", ";",
    "checkout_redesign'--", "checkout_redesign' OR 'a'='a", "pragma database_list",
    "attach '/tmp/x.duckdb'", "copy (select 1) to '/tmp/x'", "0x27", "char(39)",
]  # fmt: skip
MENTIONS = [
    "<!channel>", "<!here>", "<!everyone>", "<@U123>", "<@U0BOT|bot>", "<#C123|general>",
    "<!subteam^S123|team>", "<https://evil.example|click me>", "<mailto:a@b.example|mail>",
    "<!date^1392734382^{date}|x>", "<http://127.0.0.1/x>", "<!channel|channel>", "<@W999>",
]  # fmt: skip
ENTITIES = ["&lt;", "&gt;", "&amp;", "&lt;!channel&gt;", "&", "&#60;", "&lt;@U123&gt;"]
MRKDWN = ["*bold*", "_it_", "~strike~", "`code`", "```block```", ">quote", "\n>", "*", "_",
          "~", "`", "```", "•", ":warning:", ":skull:"]  # fmt: skip
WORDS = [
    "revenue", "rev", "ab", "a/b", "retention", "cohorts", "help", "?", "digest", "last", "30",
    "days", "vs", "versus", "previous", "last year", "--alpha", "--alpha=", "0.1", "10%", "-",
    "checkout_redesign", "homepage_copy_aa", "mtd", "wtd", "2026-11-01", "..", "since", "q3",
    "week", "weeks", "preview", "subscribe", "unsubscribe", "/kpi", "yesterday", "october",
]  # fmt: skip
NUMBERS = ["0", "-1", "1e309", "99999999999999999999", "NaN", "inf", "0x10", "1_000", "3.5",
           "-0", "٣", "1/0", "52", "53", "2026-02-30", "9999-12-31", "0000-00-00"]  # fmt: skip
POOLS = [UNICODE, CONTROL, SQL, MENTIONS, ENTITIES, MRKDWN, WORDS, NUMBERS]
PREFIXES = ["", "revenue ", "ab ", "retention ", "help ", "digest ", "/kpi ", "rev ", "ab --alpha "]
PREFIX_WEIGHTS = [25, 22, 22, 10, 5, 5, 5, 3, 3]
SEPARATORS = [" ", " ", " ", "", "  ", "\t", "\n", "\r\n", "\u3000"]


def generated_texts(n: int = N_TEXTS, seed: int = SEED) -> list[str]:
    """``n`` deterministic hostile texts, plus a hand-written list of classics."""
    rng = random.Random(seed)
    texts = list(CLASSICS)
    while len(texts) < n:
        roll = rng.random()
        if roll < 0.01:  # long: 10 kB of one fragment, or just under the parser's limit
            piece = rng.choice(rng.choice(POOLS)) or "x"
            size = rng.choice([10_240, 999, 1000, 1001, 4000])
            texts.append(rng.choice(PREFIXES) + (piece * (size // len(piece) + 1))[:size])
            continue
        if roll < 0.03:  # random code points, anywhere in the BMP and beyond
            length = rng.randint(1, 40)
            texts.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(length)))
            continue
        prefix = rng.choices(PREFIXES, PREFIX_WEIGHTS)[0]
        parts = [rng.choice(rng.choice(POOLS)) for _ in range(rng.randint(1, 7))]
        text = prefix + "".join(p + rng.choice(SEPARATORS) for p in parts)
        if rng.random() < 0.1:
            text = text.upper() if rng.random() < 0.5 else text.strip()
        texts.append(text)
    return texts


CLASSICS = [
    "ab <!channel>", "ab <@U123>", "ab <!here>", "revenue <!channel>", "<!channel>", "<@U123>",
    "retention <#C123|general>", "help <!everyone>", "ab x'; DROP TABLE ab_metrics; --",
    "ab checkout_redesign' OR '1'='1", "ab checkout_redesign --alpha 0.1'; --",
    "revenue 2026-01-01'..2026-02-01", "revenue last 30 days vs <!here>", "digest <!channel>",
    "ab checkout_redesign --alpha <!channel>", "ab `<!channel>`", "ab *<!channel>*",
    "revenue &lt;!channel&gt;", "ab " + "a" * 64, "ab " + "a" * 65, "ab checkout_redesign x",
    "ab 1--", "ab ..", "ab -", "ab --", "ab ---alpha", "retention 0", "retention 999999999999",
    "retention -1", "retention 52", "revenue vs", "revenue vs vs", "revenue " + "9" * 400,
    "\x00", "\x00revenue", "revenue\x00last 7 days", "\u202erevenue", "ab \u202echeckout",
    "x" * 10_240, "<!channel>" * 1000, "`" * 5000, "&" * 3000, "ab " + "<@U1>" * 300,
]  # fmt: skip

# ----------------------------------------------------------------------------- harness


class QueryLoggingWarehouse(DuckDBWarehouse):
    """The real adapter, with DuckDB's query log switched on in each connection it opens.

    ``runs`` counts named queries, so the test can check the log missed none.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, timeout_s=30.0)
        self.connections: list[duckdb.DuckDBPyConnection] = []
        self.runs: Counter[str] = Counter()
        self.generated: list[tuple[str, str, dict]] = []  # run_sql: (label, sql, params)

    def run(self, name, params=None):  # type: ignore[no-untyped-def]
        self.runs[name] += 1
        return super().run(name, params)

    def run_sql(self, label, sql, params):  # type: ignore[no-untyped-def]
        self.generated.append((label, sql, dict(params)))
        return super().run_sql(label, sql, params)

    def values_sql(self) -> set[str]:
        """The semantic layer's known-values queries run so far (asserted parameterless)."""
        assert all(label == "semantic_values" and not p for label, _, p in self.generated)
        return {sql for _, sql, _ in self.generated}

    def _open(self) -> duckdb.DuckDBPyConnection:
        conn = super()._open()
        conn.execute("call enable_logging('QueryLog')")
        self.connections.append(conn)
        return conn

    def executed_sql(self) -> list[str]:
        statements: list[str] = []
        for conn in self.connections:
            rows = conn.execute(
                "select message from duckdb_logs where type = 'QueryLog'"
            ).fetchall()
            statements += [m for (m,) in rows if not _is_harness_sql(m)]
        return statements


def _is_harness_sql(sql: str) -> bool:
    lowered = sql.strip().lower()
    return lowered.startswith("call enable_logging") or "duckdb_logs" in lowered


def named_query_texts(db: Path) -> dict[str, str]:
    """Every named query as the adapter renders it: marts prefix filled, ``$`` params."""
    marts = '"' + db.stem.replace('"', '""') + '".' + MARTS_SCHEMA
    names = sorted(p.stem for p in QUERY_DIR.glob("*.sql"))
    return {render_query(name, marts, param_style="$")[0]: name for name in names}


@pytest.fixture(scope="module")
def logged(built_db: Path) -> Iterator[tuple[KpiService, QueryLoggingWarehouse]]:
    warehouse = QueryLoggingWarehouse(built_db)
    yield KpiService(MartReader(warehouse), clock=lambda: CLOCK), warehouse
    warehouse.close()


def texts_of(blocks: list[dict]) -> Iterator[tuple[str, str]]:
    """(block type, text) for every text object in the blocks."""
    for block in blocks:
        kind = block["type"]
        if "text" in block:
            yield kind, block["text"]["text"]
        for item in block.get("fields", []) + block.get("elements", []):
            if "text" in item:  # a button's is a text object (its label): checked too
                text = item["text"]
                yield kind, text["text"] if isinstance(text, dict) else text


SLACK_CONTROL = ("<!", "<@", "<#", "<http", "<mailto")


def unsafe_for_slack(text: str) -> str | None:
    """Why ``text`` would do something in Slack it shouldn't, or None."""
    for marker in SLACK_CONTROL:
        if marker in text:
            return f"contains {marker!r}"
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            return f"contains control/format character U+{ord(ch):04X}"
    return None


def check_reply(text: str, answer: object) -> None:
    """The contract for one reply; raises AssertionError naming the input."""
    where = f"input {text[:60]!r}"
    assert isinstance(
        answer,
        RevenueAnswer
        | ExperimentAnswer
        | ExperimentListAnswer
        | RetentionAnswer
        | HelpAnswer
        | DigestCommandAnswer
        | ErrorAnswer,
    ), where
    if isinstance(answer, ErrorAnswer):
        # Usage errors only: hostile text must never look like an outage or a bug.
        assert answer.kind in {"parse", "unknown_experiment", "empty"}, (where, answer.kind)
        assert INTERNAL_ERROR not in answer.message, where
        assert answer.example and answer.example.startswith("/kpi"), where
    blocks = answer_blocks(answer)
    fallback = answer_text(answer)
    assert 0 < len(blocks) <= 50, where
    total = len(fallback)
    for block in blocks:
        Block.parse(block).validate_json()  # slack_sdk's own Block Kit model checks
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000, where
            assert len(block.get("fields", [])) <= 10, where
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", [])), where
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150, where
    for kind, shown in texts_of(blocks):
        total += len(shown)
        problem = unsafe_for_slack(shown)
        assert problem is None, f"{where}: a {kind} text {problem}: {shown[:120]!r}"
    assert unsafe_for_slack(fallback) is None, (where, fallback[:120])
    assert total < 13_000, where
    assert len(json.dumps(blocks)) < 13_000, where


# ----------------------------------------------------------------------------- tests


def test_the_generator_covers_what_it_claims() -> None:
    texts = generated_texts()
    assert len(texts) >= N_TEXTS and texts == generated_texts()  # seeded: same every run
    joined = "\x1e".join(texts)
    for fragment in ("<!channel>", "<@U123>", "<!here>", "&lt;", "DROP TABLE", "\x00", "\u202e",
                     "*bold*", "`", "~", "_"):  # fmt: skip
        assert fragment in joined, fragment
    assert sum(len(t) >= 10_240 for t in texts) >= 20
    assert sum(any(unicodedata.category(c) == "Cc" for c in t) for t in texts) >= 1000


def test_ten_thousand_hostile_texts_get_an_answer_or_usage_help(
    logged: tuple[KpiService, QueryLoggingWarehouse], built_db: Path
) -> None:
    service, warehouse = logged
    texts = generated_texts()
    kinds: Counter[str] = Counter()

    for text in texts:
        answer = service.ask(text)
        check_reply(text, answer)
        kind = f"ErrorAnswer:{answer.kind}" if isinstance(answer, ErrorAnswer) else ""
        kinds[kind or type(answer).__name__] += 1

    # The mix reached every path: errors of each kind and real answers.
    assert kinds["ErrorAnswer:parse"] > len(texts) // 2
    assert kinds["ErrorAnswer:unknown_experiment"] > 50
    assert kinds["HelpAnswer"] > 10
    assert kinds["ExperimentListAnswer"] + kinds["ExperimentAnswer"] + kinds["RevenueAnswer"] > 0

    # Everything DuckDB executed is one of the named query files, verbatim: no user
    # text was ever formatted into SQL, whatever the input.
    allowed = named_query_texts(built_db)
    executed = warehouse.executed_sql()
    # Besides the named queries, the only SQL is the semantic layer's known-values
    # queries (the loose-phrasing vocabulary: `revenue in Brazil`): compiled from the
    # manifest, one per dimension column, without parameters — no user text in them.
    values_sql = warehouse.values_sql()
    assert len(values_sql) <= 12 and len(warehouse.generated) == len(values_sql)  # cached
    named = [sql for sql in executed if sql not in values_sql]
    assert len(executed) == sum(warehouse.runs.values()) + len(warehouse.generated) > 0
    strays = [sql for sql in named if sql not in allowed]
    assert strays == []
    assert Counter(allowed[sql] for sql in named) == warehouse.runs


def test_an_experiment_id_with_quotes_or_sql_is_bound_never_spliced(
    logged: tuple[KpiService, QueryLoggingWarehouse], built_db: Path
) -> None:
    service, warehouse = logged
    reader = service.reader
    genuine = reader.experiment_metrics("checkout_redesign")
    assert len(genuine) >= 2

    # Spliced into SQL, each of these would match every row (or fail to parse).
    for hostile in (
        "checkout_redesign' OR '1'='1",
        "x' OR 1=1 --",
        "checkout_redesign'; DROP TABLE main.ab_metrics; --",
        "' UNION SELECT variant, users, converters, revenue_sum, revenue_sum_squares "
        "FROM main.ab_metrics --",
        "$experiment_id",
    ):
        assert reader.experiment_metrics(hostile).empty, hostile
        # The service never even asks for an unknown id's metrics.
        before = warehouse.runs["experiment_metrics"]
        answer = service.answer(ExperimentQuestion(hostile))
        assert isinstance(answer, ErrorAnswer) and answer.kind == "unknown_experiment"
        assert warehouse.runs["experiment_metrics"] == before
        check_reply(hostile, answer)

    assert reader.experiment_metrics("checkout_redesign") == genuine  # nothing dropped
    allowed = named_query_texts(built_db) | dict.fromkeys(warehouse.values_sql(), "values")
    assert all(sql in allowed for sql in warehouse.executed_sql())


def test_hostile_texts_over_slack_are_answered_privately_and_accepted(built_db: Path) -> None:
    """A sample through the real HTTP path: the double refuses Block Kit Slack would
    refuse, so an accepted reply is a valid one; none posts in the channel or pings."""
    rng = random.Random(SEED)
    sample = CLASSICS[:25] + rng.sample(generated_texts(), 25)
    # Short (as a slash command's text is) and not a real question, so every reply is
    # private: usage help or an error.
    sample = [
        t
        for t in sample
        if len(t) < 3000 and isinstance(parse_question(t, CLOCK.date()), ParseError | HelpQuestion)
    ]
    with SlackDouble() as slack, running_bot(built_db, slack) as url:
        names = []
        for i, text in enumerate(sample):
            clean = text.encode("utf-8", "replace").decode("utf-8")  # what a form can carry
            name = f"hostile-{i}"
            body = slash_command_body(
                clean, response_url=slack.response_url(name), trigger_id=f"1.{i}.hostile"
            )
            status, ack = post_signed(url, body, signed_headers(SECRET, body))
            assert (status, ack) == (200, ""), text[:60]
            names.append(name)
        slack.wait_for(
            lambda: {m.response_url_name for m in slack.messages(RESPONSE_URL)} >= set(names),
            timeout=60,
        )
        assert [c.status for c in slack.calls(RESPONSE_URL) if c.status != 200] == []
        assert slack.errors == []
        for message in slack.messages(RESPONSE_URL):
            assert message.ephemeral
            assert unsafe_for_slack(message.all_text) is None, message.all_text[:200]
        assert slack.messages("chat.postMessage") == []
        assert len(slack.messages(RESPONSE_URL)) == len(names)
