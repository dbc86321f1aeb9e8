-- One row: the span of the source data, from the earliest to the latest `created_at`
-- across users, orders, order_items and events. data_freshness publishes data_as_of;
-- revenue_daily spans first_day .. last_day; retention_weekly keeps only weeks that end
-- on or before last_day. experiment_assignments is not a TheLook table and is left out.
with table_bounds as (
    select min(created_at) as first_at, max(created_at) as last_at
    from {{ ref('stg_thelook__users') }}
    union all
    select min(created_at), max(created_at) from {{ ref('stg_thelook__orders') }}
    union all
    select min(created_at), max(created_at) from {{ ref('stg_thelook__order_items') }}
    union all
    select min(created_at), max(created_at) from {{ ref('stg_thelook__events') }}
),

span as (
    select min(first_at) as first_data_at, max(last_at) as data_as_of
    from table_bounds
)

select
    first_data_at,
    data_as_of,
    {{ kpi_bot.utc_date('first_data_at') }} as first_day,
    {{ kpi_bot.utc_date('data_as_of') }} as last_day
from span
