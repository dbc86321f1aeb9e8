-- Closed session-funnel counts of a window and of the window it is compared with (the
-- previous window or the same days a year before), in one scan of the pre-aggregated
-- mart. Both ranges are inclusive; a range without rows gives zeros.
select
    coalesce(sum(case when session_day between @start_day and @end_day
        then sessions end), 0) as sessions,
    coalesce(sum(case when session_day between @start_day and @end_day
        then product_sessions end), 0) as product_sessions,
    coalesce(sum(case when session_day between @start_day and @end_day
        then cart_sessions end), 0) as cart_sessions,
    coalesce(sum(case when session_day between @start_day and @end_day
        then purchase_sessions end), 0) as purchase_sessions,
    coalesce(sum(case when session_day between @previous_start_day and @previous_end_day
        then sessions end), 0) as previous_sessions,
    coalesce(sum(case when session_day between @previous_start_day and @previous_end_day
        then product_sessions end), 0) as previous_product_sessions,
    coalesce(sum(case when session_day between @previous_start_day and @previous_end_day
        then cart_sessions end), 0) as previous_cart_sessions,
    coalesce(sum(case when session_day between @previous_start_day and @previous_end_day
        then purchase_sessions end), 0) as previous_purchase_sessions
from {{ marts }}.funnel_sessions_daily
where session_day between @start_day and @end_day
    or session_day between @previous_start_day and @previous_end_day
