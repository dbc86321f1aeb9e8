{{ config(partition_by=kpi_bot.partition_by_date('activity_day', 'month')) }}

-- One row per (session, UTC day with at least one of its events). METRICS.md attributes
-- a session to the day of its events, so a session crossing midnight counts on both days,
-- and once in any window holding either (sessions is a distinct count of session_id). A
-- session's browser and traffic_source are its first event's (as the funnel does), so
-- every session has exactly one value of each. Anonymous sessions (user_id NULL) count.
with ranked_events as (
    select
        session_id,
        user_id,
        browser,
        traffic_source,
        row_number() over (
            partition by session_id order by created_at, sequence_number, event_id
        ) as position_in_session
    from {{ ref('stg_thelook__events') }}
),

first_events as (
    select session_id, user_id, browser, traffic_source
    from ranked_events
    where position_in_session = 1
),

session_days as (
    select distinct
        session_id,
        {{ kpi_bot.utc_date('created_at') }} as activity_day
    from {{ ref('stg_thelook__events') }}
)

select
    concat(d.session_id, '/', cast(d.activity_day as {{ dbt.type_string() }})) as session_day_id,
    d.session_id,
    d.activity_day,
    f.user_id,
    f.browser,
    f.traffic_source
from session_days as d
inner join first_events as f
    on f.session_id = d.session_id
