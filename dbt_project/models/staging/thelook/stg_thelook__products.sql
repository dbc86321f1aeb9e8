-- Products (TheLook's catalogue), renamed and typed. retail_price is what an item of the
-- product sells for in the demo data (order_items.sale_price); cost is below it.
select
    cast(id as {{ dbt.type_bigint() }}) as product_id,
    cast(name as {{ dbt.type_string() }}) as product_name,
    cast(brand as {{ dbt.type_string() }}) as brand,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(department as {{ dbt.type_string() }}) as department,
    cast(cost as {{ kpi_bot.type_double() }}) as cost,
    cast(retail_price as {{ kpi_bot.type_double() }}) as retail_price,
    cast(sku as {{ dbt.type_string() }}) as sku,
    cast(distribution_center_id as {{ dbt.type_bigint() }}) as distribution_center_id
from {{ source('thelook', 'products') }}
