{{ config(cluster_by=kpi_bot.cluster_fields(['experiment_id'])) }}

-- The experiment funnel (METRICS.md "Funnel", `funnel for <experiment_id>`): one row per
-- (experiment, variant), at user level. The users are the experiment's analysed users
-- (ab_group: first exposure, multi-variant users excluded). A user reaches product, cart
-- or purchase with at least one event of that type (events.user_id = the user) created at
-- or after their assigned_at, and only if they also reached every earlier step (closed).
-- Events before exposure and anonymous events never count.
with exposures as (
    select experiment_id, user_id, variant, assigned_at
    from {{ ref('ab_group') }}
),

step_events as (
    select user_id, event_type, created_at
    from {{ ref('stg_thelook__events') }}
    where user_id is not null
        and event_type in ('product', 'cart', 'purchase')
),

per_user as (
    select
        e.experiment_id,
        e.variant,
        e.user_id,
        {{ kpi_bot.count_if("ev.event_type = 'product'") }} as product_events,
        {{ kpi_bot.count_if("ev.event_type = 'cart'") }} as cart_events,
        {{ kpi_bot.count_if("ev.event_type = 'purchase'") }} as purchase_events
    from exposures as e
    left join step_events as ev
        on ev.user_id = e.user_id
        and ev.created_at >= e.assigned_at
    group by e.experiment_id, e.variant, e.user_id
)

select
    experiment_id,
    variant,
    count(*) as users,
    {{ kpi_bot.count_if('product_events > 0') }} as product_users,
    {{ kpi_bot.count_if('product_events > 0 and cart_events > 0') }} as cart_users,
    {{ kpi_bot.count_if('product_events > 0 and cart_events > 0 and purchase_events > 0') }}
        as purchase_users
from per_user
group by experiment_id, variant
