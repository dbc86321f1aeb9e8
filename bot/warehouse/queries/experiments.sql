-- Every experiment with its exposure counts, most recently active first.
select experiment_id, variants, users, excluded_users, first_assigned_at, last_assigned_at
from {{ marts }}.ab_experiments
order by last_assigned_at desc, experiment_id
