-- returning (segments/lifecycle.yaml): Ordered at least twice.
select customer_id
from {{ ref('customer_features') }}
where order_count >= {{ var('returning_min_orders', 2) }}
