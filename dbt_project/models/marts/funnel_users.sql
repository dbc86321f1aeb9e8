{{ config(cluster_by=kpi_bot.cluster_fields(['user_id'])) }}

-- One row per user (every user, with or without events). Each step is a flag of its
-- own, taken from TheLook's event types, not forced to be monotone: a user with a cart
-- event but no product event shows added_to_cart without viewed_product, as the data
-- says. converted is about orders, not events: the user has a Complete order.
with user_events as (
    select
        user_id,
        count(*) as events,
        {{ kpi_bot.count_if("event_type = 'product'") }} as product_events,
        {{ kpi_bot.count_if("event_type = 'cart'") }} as cart_events,
        {{ kpi_bot.count_if("event_type = 'purchase'") }} as purchase_events
    from {{ ref('stg_thelook__events') }}
    where user_id is not null
    group by user_id
),

user_orders as (
    select
        user_id,
        count(*) as complete_orders
    from {{ ref('stg_thelook__orders') }}
    where status = 'Complete'
    group by user_id
)

select
    u.user_id,
    coalesce(e.events, 0) > 0 as visited,
    coalesce(e.product_events, 0) > 0 as viewed_product,
    coalesce(e.cart_events, 0) > 0 as added_to_cart,
    coalesce(e.purchase_events, 0) > 0 as purchased,
    coalesce(o.complete_orders, 0) > 0 as converted
from {{ ref('stg_thelook__users') }} as u
left join user_events as e
    on e.user_id = u.user_id
left join user_orders as o
    on o.user_id = u.user_id
