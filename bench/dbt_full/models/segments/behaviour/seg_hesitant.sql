-- hesitant (segments/behaviour.yaml): Visits more often than the average customer but orders less than the average customer.
select f.customer_id
from {{ ref('customer_features') }} f
cross join {{ ref('population_stats') }} s
where session_count > s.avg_session_count
  and order_count < s.avg_order_count
