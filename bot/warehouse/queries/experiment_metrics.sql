-- Sufficient statistics per variant of one experiment, with the CUPED sums (x = revenue
-- in the 28 days before first exposure, y = revenue after it).
select
    variant,
    users,
    converters,
    revenue_sum,
    revenue_sum_squares,
    pre_revenue_sum,
    pre_revenue_sum_squares,
    revenue_pre_revenue_sum_products
from {{ marts }}.ab_metrics
where experiment_id = @experiment_id
order by variant
