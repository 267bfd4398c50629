-- cart_abandoners (segments/behaviour.yaml): Left at least one cart in the last 30 days (var cart_abandon_days); abandoned_products lists what was left.
select customer_id
from {{ ref('customer_features') }}
where abandoned_carts_recent >= {{ var('cart_abandoners_min_carts', 1) }}
