{#- Physical layout of the marts, per engine: BigQuery partitions and clusters, DuckDB
    ignores both (returns none, so the table config carries nothing engine-specific). -#}

{% macro partition_by_date(field, granularity='month') -%}
  {{ return(adapter.dispatch('partition_by_date', 'kpi_bot')(field, granularity)) }}
{%- endmacro %}

{% macro default__partition_by_date(field, granularity) -%}
  {{ return(none) }}
{%- endmacro %}

{% macro bigquery__partition_by_date(field, granularity) -%}
  {{ return({'field': field, 'data_type': 'date', 'granularity': granularity}) }}
{%- endmacro %}


{#- Not named cluster_by: a root-project macro of that name replaces dbt-bigquery's own
    cluster_by macro, which writes the CLUSTER BY clause of every table's DDL. -#}
{% macro cluster_fields(fields) -%}
  {{ return(adapter.dispatch('cluster_fields', 'kpi_bot')(fields)) }}
{%- endmacro %}

{% macro default__cluster_fields(fields) -%}
  {{ return(none) }}
{%- endmacro %}

{% macro bigquery__cluster_fields(fields) -%}
  {{ return(fields) }}
{%- endmacro %}


{#- Whether stg_thelook__experiment_assignments reads the real export (true) or builds
    the documented A/A hash-split fallback (false). var('use_experiment_assignments')
    wins; unset, it is true on DuckDB and false on BigQuery, whose TheLook lacks the table.
    A string from the command line ("false", "0", "no") counts as false. -#}
{% macro use_experiment_assignments() -%}
  {%- set value = var('use_experiment_assignments', target.type != 'bigquery') -%}
  {%- if value is string -%}
    {%- set value = value | trim | lower not in ('false', '0', 'no', 'off', '') -%}
  {%- endif -%}
  {{ return(true if value else false) }}
{%- endmacro %}
