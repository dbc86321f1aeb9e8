-- Web events, renamed and typed. user_id stays NULL for anonymous sessions.
select
    cast(id as {{ dbt.type_bigint() }}) as event_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(session_id as {{ dbt.type_string() }}) as session_id,
    cast(sequence_number as {{ dbt.type_bigint() }}) as sequence_number,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(traffic_source as {{ dbt.type_string() }}) as traffic_source,
    cast(browser as {{ dbt.type_string() }}) as browser,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
from {{ source('thelook', 'events') }}
