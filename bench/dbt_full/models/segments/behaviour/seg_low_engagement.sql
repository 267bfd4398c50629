-- low_engagement (segments/behaviour.yaml): Few orders (at most 2) and none in the last 180 days.
select customer_id
from {{ ref('customer_features') }}
where order_count between 1 and {{ var('low_engagement_max_orders', 2) }}
  and recency_days >= {{ var('low_engagement_min_recency_days', 180) }}
