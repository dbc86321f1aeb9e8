{{ config(partition_by=kpi_bot.partition_by_date('day', 'month')) }}

-- One row per UTC day from the first to the last day of data, zero days included.
-- Built from the same facts as the semantic layer, so the project has one revenue:
-- orders counts fct_orders.is_complete (the one definition of a revenue-bearing order;
-- one row per order, so a count of flags is a distinct count, and an order without items
-- counts), revenue sums fct_order_items.revenue (sale_price of items of Complete
-- orders), both on the order's day (UTC date of the order's created_at). aov = revenue /
-- orders, NULL on days without orders.
with daily_orders as (
    select
        order_day as day,
        {{ kpi_bot.count_if('is_complete') }} as orders
    from {{ ref('fct_orders') }}
    group by order_day
),

daily_revenue as (
    select
        order_day as day,
        sum(revenue) as revenue
    from {{ ref('fct_order_items') }}
    where is_complete
    group by order_day
),

spine as (
    {{ kpi_bot.date_spine(
        "(select first_day from " ~ ref('int_thelook__data_span') ~ ")",
        "(select last_day from " ~ ref('int_thelook__data_span') ~ ")") }}
),

filled as (
    select
        s.day,
        coalesce(o.orders, 0) as orders,
        cast(coalesce(r.revenue, 0) as {{ kpi_bot.type_double() }}) as revenue
    from spine as s
    left join daily_orders as o
        on o.day = s.day
    left join daily_revenue as r
        on r.day = s.day
)

select
    f.day,
    f.orders,
    f.revenue,
    {{ kpi_bot.safe_divide('f.revenue', 'f.orders') }} as aov
from filled as f
