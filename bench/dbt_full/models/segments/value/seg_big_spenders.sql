-- big_spenders (segments/value.yaml): Top 10% (var big_spender_quantile) by lifetime spend or by average order value, or above the luxury threshold.
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where order_count > 0 and (
    total_spent >= s.big_spender_total_spent
    or aov >= s.big_spender_aov
    or total_spent > {{ var('luxury_spend', 10000) }}
  )
