{{ config(partition_by=kpi_bot.partition_by_date('cohort_week', 'month')) }}

-- One row per complete (cohort_week, week_n), 0 <= week_n <= 12. Weeks start on Monday
-- (UTC dates). cohort_week is the week of the user's sign-up; a user is active in week_n
-- when they have any event in the week starting cohort_week + 7 * week_n (events before
-- sign-up and anonymous events do not count). cohort_size counts every user created in
-- the cohort week, active or not. A cell is complete when its activity week ends (Sunday)
-- on or before the last day of data (the UTC date of data_as_of); incomplete cells are
-- absent, complete cells without activity are present with 0.
with users as (
    select
        user_id,
        {{ kpi_bot.week_start(kpi_bot.utc_date('created_at')) }} as cohort_week
    from {{ ref('stg_thelook__users') }}
),

cohorts as (
    select
        cohort_week,
        count(*) as cohort_size
    from users
    group by cohort_week
),

week_offsets as (
    {% for n in range(13) -%}
    select cast({{ n }} as {{ dbt.type_bigint() }}) as week_n
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}
),

cells as (
    select
        c.cohort_week,
        w.week_n,
        c.cohort_size,
        {{ kpi_bot.add_days('c.cohort_week', '7 * w.week_n') }} as activity_week
    from cohorts as c
    cross join week_offsets as w
    cross join {{ ref('int_thelook__data_span') }} as span
    where {{ kpi_bot.add_days('c.cohort_week', '7 * w.week_n + 6') }} <= span.last_day
),

user_weeks as (
    select distinct
        user_id,
        {{ kpi_bot.week_start(kpi_bot.utc_date('created_at')) }} as activity_week
    from {{ ref('stg_thelook__events') }}
    where user_id is not null
),

active as (
    select
        u.cohort_week,
        a.activity_week,
        count(distinct u.user_id) as active_users
    from users as u
    inner join user_weeks as a
        on a.user_id = u.user_id
        and a.activity_week >= u.cohort_week
    group by u.cohort_week, a.activity_week
)

select
    c.cohort_week,
    c.week_n,
    c.cohort_size,
    coalesce(a.active_users, 0) as active_users,
    {{ kpi_bot.safe_divide('coalesce(a.active_users, 0)', 'c.cohort_size') }} as retention_rate
from cells as c
left join active as a
    on a.cohort_week = c.cohort_week
    and a.activity_week = c.activity_week
