-- Closed session-funnel counts of an inclusive day range: a sum over the pre-aggregated
-- mart (every session is in one row). No rows in the range give zeros.
select
    coalesce(sum(sessions), 0) as sessions,
    coalesce(sum(product_sessions), 0) as product_sessions,
    coalesce(sum(cart_sessions), 0) as cart_sessions,
    coalesce(sum(purchase_sessions), 0) as purchase_sessions
from {{ marts }}.funnel_sessions_daily
where session_day between @start_day and @end_day
