-- One row per experiment that is registered (seed experiment_registry) or has exposures
-- (ab_experiments). Experiments without a registry row get the defaults the bot uses
-- (bot/core/plan.py default_plan): conversion as primary metric, revenue per user as
-- guardrail, equal split (planned_split NULL), no planned end (fixed horizon). start_date
-- falls back to the UTC day of the first exposure.
with registry as (
    select *
    from {{ ref('experiment_registry') }}
),

seen as (
    select experiment_id, first_assigned_at
    from {{ ref('ab_experiments') }}
)

select
    coalesce(r.experiment_id, s.experiment_id) as experiment_id,
    r.experiment_id is not null as registered,
    r.name,
    r.hypothesis,
    r.owner,
    coalesce(r.primary_metric, 'conversion') as primary_metric,
    case
        when r.experiment_id is null then 'revenue_per_user'
        else r.guardrail_metrics
    end as guardrail_metrics,
    r.planned_split,
    coalesce(r.start_date, {{ kpi_bot.utc_date('s.first_assigned_at') }}) as start_date,
    r.planned_end_date,
    r.planned_users_per_arm,
    coalesce(r.status, 'running') as status
from registry as r
full outer join seen as s
    on s.experiment_id = r.experiment_id
