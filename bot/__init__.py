"""kpi-bot: product KPIs from dbt marts, answered in Slack and in the terminal."""

__version__ = "0.1.0"
