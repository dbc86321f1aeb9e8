{#- A DATE column holds every day from its minimum to its maximum exactly once: no
    gaps, no duplicates. Fails with one row describing the mismatch. -#}
{% test consecutive_days(model, column_name) %}
with bounds as (
    select
        min({{ column_name }}) as first_day,
        max({{ column_name }}) as last_day,
        count(*) as row_count,
        count(distinct {{ column_name }}) as distinct_days
    from {{ model }}
)

select *
from bounds
where row_count > 0
    and (
        row_count != distinct_days
        or row_count != {{ kpi_bot.days_between('first_day', 'last_day') }} + 1
    )
{% endtest %}
