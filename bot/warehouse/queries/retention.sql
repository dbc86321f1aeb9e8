-- Cohort x week cells; the mart holds at most ~2 years x 13 weeks, so it is read whole.
select cohort_week, week_n, cohort_size, active_users, retention_rate
from {{ marts }}.retention_weekly
order by cohort_week, week_n
