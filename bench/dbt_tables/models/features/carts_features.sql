-- Abandoned carts in the last var('cart_abandon_days', 30) days (segments/behaviour.yaml).
select
    customer_id,
    count(*) as abandoned_carts_recent,
    string_agg(products, ';' order by created_at desc, cart_id) as abandoned_products
from {{ ref('stg_carts') }}
where status = 'abandoned'
  and created_at >= {{ window_start(var('cart_abandon_days', 30), 'day') }}
group by customer_id
