-- big_spenders (segments/value.yaml): Large and frequent — lifetime spend in the top 10% of buyers (var big_spender_quantile) over at least 2 orders (var big_spender_min_orders).
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where order_count >= {{ var('big_spender_min_orders', 2) }}
  and total_spent >= s.big_spender_buyer_spend
