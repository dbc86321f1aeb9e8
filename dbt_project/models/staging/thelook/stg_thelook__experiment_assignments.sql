-- One row per user exposure: (user_id, experiment_id, variant, assigned_at).
{% if kpi_bot.use_experiment_assignments() %}
-- Source: the experiment platform's export (var use_experiment_assignments = true).
select
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
    cast(variant as {{ dbt.type_string() }}) as variant,
    cast(assigned_at as {{ dbt.type_timestamp() }}) as assigned_at
from {{ source('thelook', 'experiment_assignments') }}
{% else %}
-- Fallback (var use_experiment_assignments = false; the default on BigQuery, whose
-- TheLook has no exposures): every user is assigned at sign-up to a deterministic 50/50
-- split on a hash of the user id, experiment `hash_split_aa`, variants A and B. Nothing
-- differs between the arms, so it is an A/A test: a check of the pipeline and the
-- statistics, as the original ExecKPI did.
select
    cast(id as {{ dbt.type_bigint() }}) as user_id,
    cast('hash_split_aa' as {{ dbt.type_string() }}) as experiment_id,
    cast(
        case
            when {{ kpi_bot.hash_bucket(
                "concat('hash_split_aa:', cast(id as " ~ dbt.type_string() ~ "))", 2) }} = 0
                then 'A'
            else 'B'
        end as {{ dbt.type_string() }}
    ) as variant,
    cast(created_at as {{ dbt.type_timestamp() }}) as assigned_at
from {{ source('thelook', 'users') }}
{% endif %}
