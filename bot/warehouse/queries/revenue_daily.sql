-- Daily revenue, orders for an inclusive day range. The mart already zero-fills days
-- with no orders between the first and last day of data.
select day, orders, revenue
from {{ marts }}.revenue_daily
where day between @start_day and @end_day
order by day
