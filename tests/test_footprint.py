"""What each process imports (issue #20): the serving process answers without pandas,
matplotlib or MetricFlow at start-up, and a chart worker imports what drawing needs.

Each check runs in a fresh interpreter (a subprocess), since this test process has
imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "matplotlib", "metricflow", "dbt")
PLOTTING = ("matplotlib", "PIL", "seaborn", "plotly")


def last_json_of_fresh_python(code: str, env: dict[str, str] | None = None) -> object:
    """Run ``code`` in a fresh interpreter; the JSON of its last line of output."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loaded_in_fresh_python(code: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages imported once ``code`` has run (it prints nothing itself)."""
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    return {name.split(".")[0] for name in last_json_of_fresh_python(script, env)}


def test_the_server_module_imports_no_pandas_plotting_or_metricflow() -> None:
    loaded = loaded_in_fresh_python("import bot.slack.server")
    assert "bot" in loaded and "slack_bolt" in loaded  # it really imported the server
    assert not loaded & {*HEAVY, *PLOTTING}, sorted(loaded & {*HEAVY, *PLOTTING})


def test_the_server_module_leaves_scipy_and_numpy_to_the_warm_up() -> None:
    """scipy.special and numpy (~0.15–0.4 s) load after ``serve`` listens, not before."""
    loaded = loaded_in_fresh_python("import bot.slack.server")
    assert "bot" in loaded
    assert not loaded & {"scipy", "numpy"}, sorted(loaded & {"scipy", "numpy"})
    # python -m bot serve pauses the collector for start-up; the warm-up resumes it.
    warmed = loaded_in_fresh_python(
        """
import gc, types
gc.disable()
from bot.slack.server import _warm_up
calls = []
semantic = types.SimpleNamespace(warm=lambda: calls.append("semantic"))
kpi = types.SimpleNamespace(semantic=semantic, render=None)
_warm_up(types.SimpleNamespace(kpi=kpi), 0.05).join(10)
assert calls == ["semantic"], calls
assert gc.isenabled() and gc.get_freeze_count() > 0
"""
    )
    assert {"scipy", "numpy"} <= warmed


def test_building_the_app_and_answering_imports_no_pandas_or_plotting(
    built_db: Path, tmp_path: Path, slack
) -> None:
    """The services and Bolt app built as ``serve`` builds them (against the Slack double),
    and a question of each kind answered; charts are handed over by name."""
    code = f"""
from datetime import date
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.server import build_services

import os
os.environ.update(SLACK_BOT_TOKEN={slack.expected_token!r}, SLACK_SIGNING_SECRET="secret",
                  SLACK_API_URL={slack.base_url!r}, KPI_CHART_PROCESSES="0",
                  KPI_DUCKDB_PATH={str(built_db)!r},
                  KPI_STATE_DB="sqlite:///{tmp_path}/state.sqlite")
settings = Settings.from_env()
services = build_services(settings)  # as serve builds them (charts: recorded by name below)
app = build_app(settings, services)
service = services.kpi
calls = []
def named_only(chart, *args, **kwargs):  # this process must not draw: record the name
    calls.append(chart.__name__)
    return b"not drawn here"
service.render = named_only
for text in ("revenue last 30 days", "ab checkout_redesign", "ab", "retention",
             "funnel last 30 days", "funnel for checkout_redesign"):
    answer = service.ask(text, as_of=date(2026, 11, 25), charts=True)
    assert type(answer).__name__ != "ErrorAnswer", (text, answer)
assert sorted(set(calls)) == ["experiment_chart", "funnel_chart", "retention_heatmap",
                              "revenue_chart"], calls
"""
    loaded = loaded_in_fresh_python(code)
    assert {"bot", "duckdb", "slack_bolt"} <= loaded
    assert not loaded & {*HEAVY, *PLOTTING}, sorted(loaded & {*HEAVY, *PLOTTING})


def test_metric_answers_load_metricflow_but_no_pandas_or_plotting(built_db: Path) -> None:
    """The semantic layer (after serve's warm-up, or on the first metric question) adds
    MetricFlow to the serving process, and still no pandas or plotting library."""
    code = f"""
from datetime import date
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

def named_only(chart, *args, **kwargs):
    return b"not drawn here"
service = KpiService(MartReader(DuckDBWarehouse({str(built_db)!r})), render=named_only)
for text in ("revenue by country last 30 days", "orders, revenue last 8 weeks weekly",
             "metrics"):
    answer = service.ask(text, as_of=date(2026, 11, 25), charts=True)
    assert type(answer).__name__ in ("MetricAnswer", "MetricCatalogAnswer"), (text, answer)
"""
    loaded = loaded_in_fresh_python(code)
    assert "metricflow" in loaded  # the answers really went through the semantic layer
    assert not loaded & {"pandas", *PLOTTING}, sorted(loaded & {"pandas", *PLOTTING})


def test_a_chart_worker_imports_what_drawing_needs_and_no_pandas() -> None:
    code = """
from datetime import date
from bot.chart_workers import ChartWorkers, loaded_modules
from bot.core import chart_data
from bot.core.table import Rows

workers = ChartWorkers(1)
try:
    days = Rows(("day", "revenue"), ((date(2026, 11, 1), 10.0), (date(2026, 11, 2), 12.5)))
    png = workers(chart_data.revenue_chart, days, Rows(("day", "revenue")), title="t",
                  current_label="this", previous_label="before")
    assert png.startswith(b"\\x89PNG")
    worker = {name.split(".")[0] for name in workers._pool.submit(loaded_modules).result()}
finally:
    workers.close()
import json
print(json.dumps(sorted(worker)))
import sys
sys.exit(0)
"""
    worker = set(last_json_of_fresh_python(code))
    assert {"matplotlib", "numpy", "bot"} <= worker  # it drew the chart
    assert not worker & {"pandas", "metricflow", "slack_bolt", "duckdb", "sqlalchemy"}, sorted(
        worker & {"pandas", "metricflow", "slack_bolt", "duckdb", "sqlalchemy"}
    )
