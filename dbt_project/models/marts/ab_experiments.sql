-- One row per experiment found in the exposures. users, variants and the exposure span
-- count the included users (ab_group: first exposures, multi-variant users left out);
-- excluded_users counts the users seen in more than one variant. An experiment whose
-- every user was excluded still has a row, with users = 0, variants = 0 and NULL dates.
with assignments as (
    select experiment_id, user_id, variant
    from {{ ref('stg_thelook__experiment_assignments') }}
),

per_user as (
    select
        experiment_id,
        user_id,
        count(distinct variant) as variants_seen
    from assignments
    group by experiment_id, user_id
),

exclusions as (
    select
        experiment_id,
        {{ kpi_bot.count_if('variants_seen > 1') }} as excluded_users
    from per_user
    group by experiment_id
),

included as (
    select
        experiment_id,
        count(distinct variant) as variants,
        count(*) as users,
        min(assigned_at) as first_assigned_at,
        max(assigned_at) as last_assigned_at
    from {{ ref('ab_group') }}
    group by experiment_id
)

select
    x.experiment_id,
    coalesce(i.variants, 0) as variants,
    coalesce(i.users, 0) as users,
    x.excluded_users,
    i.first_assigned_at,
    i.last_assigned_at
from exclusions as x
left join included as i
    on i.experiment_id = x.experiment_id
