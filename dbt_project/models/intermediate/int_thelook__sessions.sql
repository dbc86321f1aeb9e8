{#- A table, not a view like the other intermediates: funnel_sessions_daily and this
    model's data tests each read it, and a view would redo the per-session window over
    every event for each of them (~5 s apiece at 1x demo data). -#}
{{ config(
    materialized='table',
    partition_by=kpi_bot.partition_by_date('session_day', 'month')
) }}

-- One row per session (events.session_id): the closed session funnel of METRICS.md
-- "Funnel". A session starts at its first event (earliest created_at, then
-- sequence_number, then event id) and belongs to that event's UTC day; its traffic_source
-- and browser are that first event's. A step is reached when the session has at least one
-- event of that type AND reached every earlier step (closed funnel; the order of the
-- events inside the session is not required, only their presence). Anonymous sessions
-- (user_id NULL) count like any other. Events without a session_id belong to no session.
with events as (
    select
        event_id,
        session_id,
        sequence_number,
        event_type,
        traffic_source,
        browser,
        created_at
    from {{ ref('stg_thelook__events') }}
    where session_id is not null
),

ranked as (
    select
        session_id,
        traffic_source,
        browser,
        created_at,
        row_number() over (
            partition by session_id
            order by created_at, sequence_number, event_id
        ) as event_rank
    from events
),

first_events as (
    select
        session_id,
        created_at as started_at,
        traffic_source,
        browser
    from ranked
    where event_rank = 1
),

step_events as (
    select
        session_id,
        {{ kpi_bot.count_if("event_type = 'product'") }} as product_events,
        {{ kpi_bot.count_if("event_type = 'cart'") }} as cart_events,
        {{ kpi_bot.count_if("event_type = 'purchase'") }} as purchase_events
    from events
    group by session_id
)

select
    f.session_id,
    f.started_at,
    {{ kpi_bot.utc_date('f.started_at') }} as session_day,
    -- '(not set)' (Google Analytics' word) keeps a NULL source or browser a groupable value.
    coalesce(f.traffic_source, '(not set)') as traffic_source,
    coalesce(f.browser, '(not set)') as browser,
    s.product_events > 0 as reached_product,
    s.product_events > 0 and s.cart_events > 0 as reached_cart,
    s.product_events > 0 and s.cart_events > 0 and s.purchase_events > 0 as reached_purchase
from first_events as f
inner join step_events as s
    on s.session_id = f.session_id
