{#- The model has between min_rows and max_rows rows (inclusive). -#}
{% test row_count_between(model, min_rows=0, max_rows=none) %}
with counted as (
    select count(*) as row_count from {{ model }}
)

select row_count
from counted
where row_count < {{ min_rows }}
{%- if max_rows is not none %}
    or row_count > {{ max_rows }}
{%- endif %}
{% endtest %}
