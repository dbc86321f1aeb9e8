{#-
  Engine differences, one adapter.dispatch macro each (documented in _macros.yml).
  The models use only these and the portable subset of SQL both engines share; no
  lateral column aliases (BigQuery has none), no bare `/` (BigQuery raises on x / 0).
-#}

{#- Monday of the week a DATE falls in. dbt.date_trunc('week') is NOT used: BigQuery's
    WEEK starts on Sunday, DuckDB's on Monday. -#}
{% macro week_start(date_expr) -%}
  {{ return(adapter.dispatch('week_start', 'kpi_bot')(date_expr)) }}
{%- endmacro %}

{% macro default__week_start(date_expr) -%}
  {{ exceptions.raise_compiler_error(
      "week_start: Monday-start weeks are not implemented for adapter '" ~ target.type
      ~ "'. Add a " ~ target.type ~ "__week_start macro; dbt.date_trunc('week') is not "
      ~ "Monday-based on every engine.") }}
{%- endmacro %}

{% macro duckdb__week_start(date_expr) -%}
  cast(date_trunc('week', {{ date_expr }}) as date)
{%- endmacro %}

{% macro bigquery__week_start(date_expr) -%}
  {#- Same value as DATE_TRUNC(d, ISOWEEK), by arithmetic: DAYOFWEEK is 1 (Sunday) .. 7
      (Saturday), so (DAYOFWEEK + 5) mod 7 is the number of days since Monday. Written this
      way because the local BigQuery emulator (tests/test_bigquery_emulator.py) rejects
      ISOWEEK and truncates WEEK(MONDAY) to Sunday; the arithmetic is exact on both. -#}
  date_sub({{ date_expr }}, interval mod(extract(dayofweek from {{ date_expr }}) + 5, 7) day)
{%- endmacro %}


{#- The UTC calendar date of a timestamp (a "day" in METRICS.md). -#}
{% macro utc_date(timestamp_expr) -%}
  {{ return(adapter.dispatch('utc_date', 'kpi_bot')(timestamp_expr)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp_expr) -%}
  cast({{ timestamp_expr }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(timestamp_expr) -%}
  {#- TheLook timestamps are naive TIMESTAMPs meaning UTC; the profile pins the session
      TimeZone to UTC so a TIMESTAMPTZ column would convert in UTC too. -#}
  cast({{ timestamp_expr }} as date)
{%- endmacro %}

{% macro bigquery__utc_date(timestamp_expr) -%}
  date({{ timestamp_expr }}, 'UTC')
{%- endmacro %}


{#- numerator / denominator, NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
  {{ return(adapter.dispatch('safe_divide', 'kpi_bot')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
  cast({{ numerator }} as {{ kpi_bot.type_double() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{% macro bigquery__safe_divide(numerator, denominator) -%}
  safe_divide({{ numerator }}, {{ denominator }})
{%- endmacro %}


{#- Number of rows where a boolean condition is true (0, never NULL, over no rows). -#}
{% macro count_if(condition) -%}
  {{ return(adapter.dispatch('count_if', 'kpi_bot')(condition)) }}
{%- endmacro %}

{% macro default__count_if(condition) -%}
  count(case when {{ condition }} then 1 end)
{%- endmacro %}

{% macro duckdb__count_if(condition) -%}
  {#- DuckDB's count_if returns HUGEINT; the marts keep counts BIGINT. -#}
  cast(count_if({{ condition }}) as bigint)
{%- endmacro %}

{% macro bigquery__count_if(condition) -%}
  countif({{ condition }})
{%- endmacro %}


{#- A deterministic bucket 0 .. buckets-1 from a string expression: the same input gives
    the same bucket on every run of the same engine (the engines' hash functions differ,
    so a user's bucket on DuckDB and on BigQuery need not match). -#}
{% macro hash_bucket(string_expr, buckets) -%}
  {{ return(adapter.dispatch('hash_bucket', 'kpi_bot')(string_expr, buckets)) }}
{%- endmacro %}

{% macro default__hash_bucket(string_expr, buckets) -%}
  {{ exceptions.raise_compiler_error(
      "hash_bucket: no stable hash is implemented for adapter '" ~ target.type ~ "'.") }}
{%- endmacro %}

{% macro duckdb__hash_bucket(string_expr, buckets) -%}
  cast(hash({{ string_expr }}) % {{ buckets }} as bigint)
{%- endmacro %}

{% macro bigquery__hash_bucket(string_expr, buckets) -%}
  {#- FARM_FINGERPRINT is a signed INT64; MOD keeps the dividend's sign, ABS folds it. -#}
  abs(mod(farm_fingerprint({{ string_expr }}), {{ buckets }}))
{%- endmacro %}


{#- A SELECT with one DATE column `day`: every day from start_date to end_date inclusive
    (no rows when either is NULL or start > end). Both arguments are DATE expressions and
    may be scalar subqueries. -#}
{% macro date_spine(start_date, end_date) -%}
  {{ return(adapter.dispatch('date_spine', 'kpi_bot')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(start_date, end_date) -%}
  {{ exceptions.raise_compiler_error(
      "date_spine: not implemented for adapter '" ~ target.type ~ "'.") }}
{%- endmacro %}

{% macro duckdb__date_spine(start_date, end_date) -%}
  select cast(unnest(generate_series(
      cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
  )) as date) as day
{%- endmacro %}

{% macro bigquery__date_spine(start_date, end_date) -%}
  select day from unnest(generate_date_array({{ start_date }}, {{ end_date }})) as day
{%- endmacro %}


{#- date_expr + days (an integer expression), as a DATE. dbt.dateadd is not used: on
    BigQuery it returns a DATETIME. -#}
{% macro add_days(date_expr, days) -%}
  {{ return(adapter.dispatch('add_days', 'kpi_bot')(date_expr, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
  cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro duckdb__add_days(date_expr, days) -%}
  cast({{ date_expr }} + cast({{ days }} as integer) as date)
{%- endmacro %}

{% macro bigquery__add_days(date_expr, days) -%}
  date_add({{ date_expr }}, interval {{ days }} day)
{%- endmacro %}


{#- Whole days from start_date to end_date (end - start), both DATEs. -#}
{% macro days_between(start_date, end_date) -%}
  {{ return(adapter.dispatch('days_between', 'kpi_bot')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
  {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
  date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro bigquery__days_between(start_date, end_date) -%}
  date_diff({{ end_date }}, {{ start_date }}, day)
{%- endmacro %}


{#- A 64-bit float type. dbt.type_float() is 4-byte REAL on DuckDB. -#}
{% macro type_double() -%}
  {{ return(adapter.dispatch('type_double', 'kpi_bot')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
  double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
  double
{%- endmacro %}

{% macro bigquery__type_double() -%}
  float64
{%- endmacro %}


{#- timestamp_expr shifted by an integer number of days, still a TIMESTAMP (the CUPED
    pre-exposure window). dbt.dateadd is not used: on BigQuery it returns a DATETIME, which
    can't be compared with a TIMESTAMP. -#}
{% macro timestamp_add_days(timestamp_expr, days) -%}
  {{ return(adapter.dispatch('timestamp_add_days', 'kpi_bot')(timestamp_expr, days)) }}
{%- endmacro %}

{% macro default__timestamp_add_days(timestamp_expr, days) -%}
  {{ dbt.dateadd('day', days, timestamp_expr) }}
{%- endmacro %}

{% macro duckdb__timestamp_add_days(timestamp_expr, days) -%}
  ({{ timestamp_expr }} + to_days(cast({{ days }} as integer)))
{%- endmacro %}

{% macro bigquery__timestamp_add_days(timestamp_expr, days) -%}
  timestamp_add({{ timestamp_expr }}, interval {{ days }} day)
{%- endmacro %}
