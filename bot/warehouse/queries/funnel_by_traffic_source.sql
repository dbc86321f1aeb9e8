-- Closed session-funnel counts per traffic_source (of each session's first event) over an
-- inclusive day range, most sessions first. Every value is returned: the caller keeps the
-- top 10 and sums the rest (the counts are additive, each session has one value).
select
    traffic_source as segment,
    sum(sessions) as sessions,
    sum(product_sessions) as product_sessions,
    sum(cart_sessions) as cart_sessions,
    sum(purchase_sessions) as purchase_sessions
from {{ marts }}.funnel_sessions_daily
where session_day between @start_day and @end_day
group by traffic_source
order by sessions desc, segment
