-- Sufficient statistics per variant of one experiment.
select variant, users, converters, revenue_sum, revenue_sum_squares
from {{ marts }}.ab_metrics
where experiment_id = @experiment_id
order by variant
