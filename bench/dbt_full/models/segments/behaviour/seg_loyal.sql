-- loyal (segments/behaviour.yaml): More orders than the store average (and more than 3), and still buying (an order in the last year).
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where order_count > greatest({{ var('loyal_min_orders', 3) }}, s.avg_order_count)
  and recency_days <= {{ var('loyal_max_recency_days', 365) }}
