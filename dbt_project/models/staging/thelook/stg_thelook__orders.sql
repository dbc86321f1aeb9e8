-- Orders, renamed and typed. Status keeps TheLook's spelling (Complete, Cancelled, ...).
select
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(num_of_item as {{ dbt.type_bigint() }}) as num_of_item,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(shipped_at as {{ dbt.type_timestamp() }}) as shipped_at,
    cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at,
    cast(returned_at as {{ dbt.type_timestamp() }}) as returned_at
from {{ source('thelook', 'orders') }}
