-- Order items, renamed and typed. sale_price is a 64-bit float on both engines.
select
    cast(id as {{ dbt.type_bigint() }}) as order_item_id,
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(product_id as {{ dbt.type_bigint() }}) as product_id,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(sale_price as {{ kpi_bot.type_double() }}) as sale_price,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
from {{ source('thelook', 'order_items') }}
