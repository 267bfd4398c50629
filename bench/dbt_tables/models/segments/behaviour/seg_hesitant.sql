-- hesitant (segments/behaviour.yaml): Visits more often than the average customer but has never ordered, or only once (var hesitant_max_orders).
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where session_count > s.avg_session_count
  and order_count <= {{ var('hesitant_max_orders', 1) }}
