-- new_customers (segments/lifecycle.yaml): First order within the last 30 days.
select customer_id
from {{ ref('customer_features') }}
where first_order_days < {{ var('new_customer_days', 30) }}
