-- registered_no_orders (segments/behaviour.yaml): Registered and visiting, but never ordered.
select customer_id
from {{ ref('customer_features') }}
where order_count = 0 and session_count > {{ var('registered_no_orders_min_visits', 4) }}
