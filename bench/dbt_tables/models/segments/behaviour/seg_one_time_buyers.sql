-- one_time_buyers (segments/behaviour.yaml): Exactly one order so far.
select customer_id
from {{ ref('customer_features') }}
where order_count = 1
