-- periodic_buyers (segments/behaviour.yaml): Buys at a regular rhythm — at least 4 orders (var periodic_min_orders) over at least 3 calendar months (var periodic_min_months), an order in at least 80% of those months (var periodic_min_month_share), and the last one within 45 days (var periodic_max_recency_days), so still on schedule.
select customer_id
from {{ ref('customer_features') }}
where order_count >= {{ var('periodic_min_orders', 4) }}
  and order_span_months >= {{ var('periodic_min_months', 3) }}
  and month_coverage >= {{ var('periodic_min_month_share', 0.8) }}
  and recency_days < {{ var('periodic_max_recency_days', 45) }}
