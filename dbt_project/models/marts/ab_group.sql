{{ config(cluster_by=kpi_bot.cluster_fields(['experiment_id', 'variant'])) }}

-- One row per (experiment, user): the user's first exposure, the earliest assignment
-- row (ties broken by variant name, which can only matter for users excluded anyway).
-- Users assigned to more than one variant of the same experiment are left out here and
-- counted in ab_experiments.excluded_users.
with assignments as (
    select experiment_id, user_id, variant, assigned_at
    from {{ ref('stg_thelook__experiment_assignments') }}
),

single_variant_users as (
    select experiment_id, user_id
    from assignments
    group by experiment_id, user_id
    having count(distinct variant) = 1
),

ranked as (
    select
        experiment_id,
        user_id,
        variant,
        assigned_at,
        row_number() over (
            partition by experiment_id, user_id
            order by assigned_at, variant
        ) as exposure_rank
    from assignments
)

select
    r.experiment_id,
    r.user_id,
    r.variant,
    r.assigned_at
from ranked as r
inner join single_variant_users as s
    on s.experiment_id = r.experiment_id
    and s.user_id = r.user_id
where r.exposure_rank = 1
