-- One experiment's plan: its registry row, or the defaults of an unregistered one.
select
    experiment_id,
    registered,
    name,
    hypothesis,
    owner,
    primary_metric,
    guardrail_metrics,
    planned_split,
    start_date,
    planned_end_date,
    planned_users_per_arm,
    status
from {{ marts }}.ab_registry
where experiment_id = @experiment_id
