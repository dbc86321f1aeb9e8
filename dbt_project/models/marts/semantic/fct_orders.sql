{{ config(partition_by=kpi_bot.partition_by_date('order_day', 'month'),
          cluster_by=kpi_bot.cluster_fields(['user_id'])) }}

-- One row per order, any status. The project's one definition of a revenue-bearing order
-- (METRICS.md: status 'Complete') is is_complete here; revenue_daily, fct_order_items and
-- the semantic layer all read it from this model.
select
    order_id,
    user_id,
    status,
    status = 'Complete' as is_complete,
    status = 'Cancelled' as is_cancelled,
    created_at as ordered_at,
    {{ kpi_bot.utc_date('created_at') }} as order_day
from {{ ref('stg_thelook__orders') }}
