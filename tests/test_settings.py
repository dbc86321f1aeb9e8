"""Settings: read once from the environment; bad values fail naming the variable."""

from __future__ import annotations

import pytest

from bot.access import Allowlists, Audience
from bot.settings import Settings, SettingsError


def test_defaults_are_the_embedded_warehouse() -> None:
    s = Settings.from_env({})
    assert s.warehouse == "duckdb"
    assert str(s.duckdb_path) == "data/kpi.duckdb"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.allowlists.open  # no allowlist: open by default
    assert s.chart_processes == 1


@pytest.mark.parametrize(("raw", "processes"), [("0", 0), ("1", 1), (" 4 ", 4)])
def test_chart_processes_zero_means_inline(raw: str, processes: int) -> None:
    assert Settings.from_env({"KPI_CHART_PROCESSES": raw}).chart_processes == processes


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"KPI_WAREHOUSE": "postgres"}, "KPI_WAREHOUSE"),
        ({"KPI_WAREHOUSE": "bigquery"}, "KPI_BQ_PROJECT"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"KPI_ALLOWED_CHANNELS": "C123,general"}, "KPI_ALLOWED_CHANNELS"),
        ({"KPI_ALLOWED_USERS": "bob"}, "KPI_ALLOWED_USERS"),
        ({"KPI_TIMEZONE": "Mars/Olympus"}, "KPI_TIMEZONE"),
        ({"KPI_STALE_AFTER_HOURS": "soon"}, "KPI_STALE_AFTER_HOURS"),
        ({"KPI_STALE_AFTER_HOURS": "-3"}, "KPI_STALE_AFTER_HOURS"),
        ({"KPI_CHART_PROCESSES": "two"}, "KPI_CHART_PROCESSES"),
        ({"KPI_CHART_PROCESSES": "-1"}, "KPI_CHART_PROCESSES"),
        ({"KPI_CHART_PROCESSES": "1000"}, "KPI_CHART_PROCESSES"),
    ],
)
def test_malformed_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_allowlists_restrict_channels_and_users() -> None:
    s = Settings.from_env({"KPI_ALLOWED_CHANNELS": "C1AA, C2BB", "KPI_ALLOWED_USERS": "U9ZZ"})
    assert s.allowlists == Allowlists(frozenset({"C1AA", "C2BB"}), frozenset({"U9ZZ"}))
    public = s.allowlists.audience("C1AA", "U9ZZ", restricted=True)
    assert public is Audience.PUBLIC
    assert s.allowlists.audience("C3CC", "U9ZZ", restricted=True) is Audience.REFUSED
    assert s.allowlists.audience("C1AA", "U1XX", restricted=True) is Audience.REFUSED


def test_bigquery_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "KPI_WAREHOUSE": "bigquery",
            "KPI_BQ_PROJECT": "acme-analytics",
            "KPI_BQ_DATASET": "kpi_prod",
            "KPI_BQ_MAX_BYTES_BILLED": "5000000",
        }
    )
    assert s.bigquery is not None
    assert (s.bigquery.project, s.bigquery.dataset) == ("acme-analytics", "kpi_prod")
    assert s.bigquery.maximum_bytes_billed == 5_000_000


@pytest.mark.parametrize(
    ("env", "socket_mode", "variable"),
    [
        ({}, False, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xapp-1"}, False, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, False, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, True, "SLACK_APP_TOKEN"),
    ],
)
def test_slack_settings_are_checked_at_start_up(
    env: dict[str, str], socket_mode: bool, variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env).require_slack(socket_mode=socket_mode)


def test_secrets_never_appear_in_repr() -> None:
    s = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-token-value",
            "SLACK_SIGNING_SECRET": "signing-secret-value",
            "SLACK_APP_TOKEN": "xapp-secret-app-token",
        }
    )
    text = repr(s) + str(s)
    for secret in ("xoxb-secret-token-value", "signing-secret-value", "xapp-secret-app-token"):
        assert secret not in text
