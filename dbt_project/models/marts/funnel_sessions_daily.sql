{{ config(
    partition_by=kpi_bot.partition_by_date('session_day', 'month'),
    cluster_by=kpi_bot.cluster_fields(['traffic_source', 'browser'])
) }}

-- The session funnel (METRICS.md "Funnel") pre-aggregated per (UTC day a session started,
-- traffic_source, browser) of the session's first event. Every session is in exactly one
-- row and the step counts are additive, so a window's funnel is the sum of its days and a
-- `by traffic_source` / `by browser` breakdown is the sum over the other column: no scan
-- of raw events at question time. Steps are closed (int_thelook__sessions): a session
-- counts at cart only if it also reached product, at purchase only if it reached cart.
-- Only combinations with at least one session have a row.
select
    session_day,
    traffic_source,
    browser,
    count(*) as sessions,
    {{ kpi_bot.count_if('reached_product') }} as product_sessions,
    {{ kpi_bot.count_if('reached_cart') }} as cart_sessions,
    {{ kpi_bot.count_if('reached_purchase') }} as purchase_sessions
from {{ ref('int_thelook__sessions') }}
group by session_day, traffic_source, browser
