{{ config(partition_by=kpi_bot.partition_by_date('day', 'month')) }}

-- One row per UTC day from the first to the last day of data, zero days included.
-- Revenue-bearing orders are status 'Complete'; an order's day is the UTC date of the
-- order's created_at (not the items'). orders counts distinct orders, so an order with
-- several items counts once; aov = revenue / orders, NULL on days without orders.
with complete_orders as (
    select
        order_id,
        {{ kpi_bot.utc_date('created_at') }} as day
    from {{ ref('stg_thelook__orders') }}
    where status = 'Complete'
),

order_revenue as (
    select
        o.day,
        o.order_id,
        coalesce(sum(i.sale_price), 0) as revenue
    from complete_orders as o
    left join {{ ref('stg_thelook__order_items') }} as i
        on i.order_id = o.order_id
    group by o.day, o.order_id
),

daily as (
    select
        day,
        count(distinct order_id) as orders,
        sum(revenue) as revenue
    from order_revenue
    group by day
),

spine as (
    {{ kpi_bot.date_spine(
        "(select first_day from " ~ ref('int_thelook__data_span') ~ ")",
        "(select last_day from " ~ ref('int_thelook__data_span') ~ ")") }}
),

filled as (
    select
        s.day,
        coalesce(d.orders, 0) as orders,
        cast(coalesce(d.revenue, 0) as {{ kpi_bot.type_double() }}) as revenue
    from spine as s
    left join daily as d
        on d.day = s.day
)

select
    f.day,
    f.orders,
    f.revenue,
    {{ kpi_bot.safe_divide('f.revenue', 'f.orders') }} as aov
from filled as f
