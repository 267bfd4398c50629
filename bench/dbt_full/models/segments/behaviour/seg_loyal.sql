-- loyal (segments/behaviour.yaml): More orders than the store average (and more than 3), and still buying (an order in the last year).
-- The library keeps this rule in the feature loyal_buyer; here the segment is the one place, and
-- the loyalty_level ladder's loyal level ref()s it.
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where order_count > greatest({{ var('loyal_min_orders', 3) }}, s.avg_order_count)
  and recency_days <= {{ var('loyal_max_recency_days', 365) }}
