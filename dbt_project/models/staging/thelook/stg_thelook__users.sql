-- Users, renamed and typed. PII (names, email, street address, coordinates) is left out:
-- no mart needs it.
select
    cast(id as {{ dbt.type_bigint() }}) as user_id,
    cast(age as {{ dbt.type_bigint() }}) as age,
    cast(gender as {{ dbt.type_string() }}) as gender,
    cast(country as {{ dbt.type_string() }}) as country,
    cast(traffic_source as {{ dbt.type_string() }}) as traffic_source,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
from {{ source('thelook', 'users') }}
