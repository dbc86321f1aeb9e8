-- MetricFlow's time spine: one row per UTC day from the first day of data to a year
-- after the last (so windows reaching past the data still have their days). Built by the
-- engine's date_spine macro, so it builds on DuckDB and on BigQuery alike.
select day as date_day
from (
    {{ kpi_bot.date_spine(
        "(select first_day from " ~ ref('int_thelook__data_span') ~ ")",
        kpi_bot.add_days("(select last_day from " ~ ref('int_thelook__data_span') ~ ")", 366)) }}
) as spine
