-- One row per product: the item dimensions of the semantic layer (category, brand,
-- department) and the cost gross margin subtracts.
select
    product_id,
    product_name,
    brand,
    category,
    department,
    cost,
    retail_price
from {{ ref('stg_thelook__products') }}
