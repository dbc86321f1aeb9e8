-- Closed user-level funnel per variant of one experiment (exposed users, then users with
-- a product / cart / purchase event at or after exposure).
select variant, users, product_users, cart_users, purchase_users
from {{ marts }}.ab_funnel
where experiment_id = @experiment_id
order by variant
