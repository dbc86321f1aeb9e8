{{ config(cluster_by=kpi_bot.cluster_fields(['user_id'])) }}

-- One row per user: the user dimensions of the semantic layer (traffic_source, country,
-- gender, age_band) and the sign-up day new_users is attributed to. age_band follows
-- METRICS.md (under 25, 25-34, 35-44, 45-54, 55+); an unknown age has no band (NULL).
select
    user_id,
    created_at as signed_up_at,
    {{ kpi_bot.utc_date('created_at') }} as signup_day,
    traffic_source,
    country,
    gender,
    age,
    case
        when age < 25 then 'under 25'
        when age < 35 then '25-34'
        when age < 45 then '35-44'
        when age < 55 then '45-54'
        when age >= 55 then '55+'
    end as age_band
from {{ ref('stg_thelook__users') }}
