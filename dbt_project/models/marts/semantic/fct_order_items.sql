{{ config(partition_by=kpi_bot.partition_by_date('order_day', 'month'),
          cluster_by=kpi_bot.cluster_fields(['product_id'])) }}

-- One row per order item, any order status, with its order's day, status and user (the
-- ordering user is the order's, METRICS.md) and its product's cost. revenue is the item's
-- sale_price when its order is revenue-bearing (fct_orders.is_complete), else 0: the one
-- revenue column that revenue_daily and the semantic layer's `revenue` both sum.
-- gross_margin is sale_price - cost for items of Complete orders (0 otherwise; NULL if
-- the product is unknown, so sums skip it rather than count the whole price as margin).
select
    i.order_item_id,
    i.order_id,
    o.user_id,
    i.product_id,
    o.status as order_status,
    o.is_complete,
    o.ordered_at,
    o.order_day,
    i.sale_price,
    p.cost as product_cost,
    case when o.is_complete then i.sale_price else 0 end as revenue,
    case when o.is_complete then i.sale_price - p.cost else 0 end as gross_margin
from {{ ref('stg_thelook__order_items') }} as i
inner join {{ ref('fct_orders') }} as o
    on o.order_id = i.order_id
left join {{ ref('stg_thelook__products') }} as p
    on p.product_id = i.product_id
