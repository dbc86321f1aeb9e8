"""KPI_ALERT_CRON, KPI_ALERT_CATCHUP_DAYS and KPI_ALERT_ADMINS (``bot.settings``)."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.alert_cron == "0 * * * *"
    assert settings.alert_catchup_days == 3
    assert settings.alert_admins == frozenset()
    assert settings.alert_new_data_poll_s == 60


def test_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "KPI_ALERT_CRON": "*/15 * * * *",
            "KPI_ALERT_CATCHUP_DAYS": "7",
            "KPI_ALERT_ADMINS": "U0ADMIN, W0OTHER",
            "KPI_ALERT_NEW_DATA_POLL_S": "0",
        }
    )
    assert settings.alert_new_data_poll_s == 0
    assert settings.alert_cron == "*/15 * * * *"
    assert settings.alert_catchup_days == 7
    assert settings.alert_admins == frozenset({"U0ADMIN", "W0OTHER"})


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"KPI_ALERT_CATCHUP_DAYS": "0"}, "KPI_ALERT_CATCHUP_DAYS"),
        ({"KPI_ALERT_CATCHUP_DAYS": "61"}, "KPI_ALERT_CATCHUP_DAYS"),
        ({"KPI_ALERT_CATCHUP_DAYS": "three"}, "KPI_ALERT_CATCHUP_DAYS"),
        ({"KPI_ALERT_ADMINS": "alice"}, "KPI_ALERT_ADMINS"),
        ({"KPI_ALERT_NEW_DATA_POLL_S": "-5"}, "KPI_ALERT_NEW_DATA_POLL_S"),
        ({"KPI_ALERT_NEW_DATA_POLL_S": "90000"}, "KPI_ALERT_NEW_DATA_POLL_S"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        Settings.from_env(env)
