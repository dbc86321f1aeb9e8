{#- Fails with the rows where a boolean SQL expression over the model's columns is not
    true (NULL counts as a failure). Optional `where` narrows the rows checked. -#}
{% test expression_is_true(model, expression, column_name=none, where_clause=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}
{% endtest %}
