-- loyal (segments/behaviour.yaml): More orders than the store average (and more than 3), customer for at least a year.
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where order_count > greatest({{ var('loyal_min_orders', 3) }}, s.avg_order_count)
  and tenure_days >= {{ var('loyal_min_tenure_days', 365) }}
