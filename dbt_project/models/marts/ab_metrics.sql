{{ config(cluster_by=kpi_bot.cluster_fields(['experiment_id'])) }}

-- One row per (experiment, variant): the sufficient statistics the bot's tests need.
-- A user converted when they have at least one Complete order created at or after their
-- first exposure (assigned_at); their revenue is the sum of sale_price over the items of
-- those orders, 0 for non-converters. revenue_sum and revenue_sum_squares are the sum
-- and the sum of squares of that per-user revenue over the variant's users.
-- CUPED covariate: pre_revenue, the same revenue from Complete orders created in the 28
-- days before first exposure ([assigned_at - 28 days, assigned_at)); the mart carries its
-- sum, sum of squares and the sum of its products with post-exposure revenue.
with exposures as (
    select experiment_id, user_id, variant, assigned_at
    from {{ ref('ab_group') }}
),

complete_orders as (
    select order_id, user_id, created_at
    from {{ ref('stg_thelook__orders') }}
    where status = 'Complete'
),

order_revenue as (
    select
        o.order_id,
        o.user_id,
        o.created_at,
        coalesce(sum(i.sale_price), 0) as revenue
    from complete_orders as o
    left join {{ ref('stg_thelook__order_items') }} as i
        on i.order_id = o.order_id
    group by o.order_id, o.user_id, o.created_at
),

post_exposure as (
    select
        e.experiment_id,
        e.variant,
        e.user_id,
        count(r.order_id) as orders_after_exposure,
        cast(coalesce(sum(r.revenue), 0) as {{ kpi_bot.type_double() }}) as revenue
    from exposures as e
    left join order_revenue as r
        on r.user_id = e.user_id
        and r.created_at >= e.assigned_at
    group by e.experiment_id, e.variant, e.user_id
),

pre_exposure as (
    select
        e.experiment_id,
        e.user_id,
        cast(coalesce(sum(r.revenue), 0) as {{ kpi_bot.type_double() }}) as pre_revenue
    from exposures as e
    left join order_revenue as r
        on r.user_id = e.user_id
        and r.created_at < e.assigned_at
        and r.created_at >= {{ kpi_bot.timestamp_add_days('e.assigned_at', -28) }}
    group by e.experiment_id, e.user_id
),

per_user as (
    select
        p.experiment_id,
        p.variant,
        p.user_id,
        p.orders_after_exposure,
        p.revenue,
        b.pre_revenue
    from post_exposure as p
    inner join pre_exposure as b
        on b.experiment_id = p.experiment_id
        and b.user_id = p.user_id
),

per_variant as (
    select
        experiment_id,
        variant,
        count(*) as users,
        {{ kpi_bot.count_if('orders_after_exposure > 0') }} as converters,
        sum(revenue) as revenue_sum,
        sum(revenue * revenue) as revenue_sum_squares,
        sum(pre_revenue) as pre_revenue_sum,
        sum(pre_revenue * pre_revenue) as pre_revenue_sum_squares,
        sum(revenue * pre_revenue) as revenue_pre_revenue_sum_products
    from per_user
    group by experiment_id, variant
)

select
    v.experiment_id,
    v.variant,
    v.users,
    v.converters,
    {{ kpi_bot.safe_divide('v.converters', 'v.users') }} as conversion_rate,
    v.revenue_sum,
    v.revenue_sum_squares,
    v.pre_revenue_sum,
    v.pre_revenue_sum_squares,
    v.revenue_pre_revenue_sum_products
from per_variant as v
