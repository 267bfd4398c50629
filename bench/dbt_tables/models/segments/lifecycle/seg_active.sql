-- active (segments/lifecycle.yaml): Ordered in the last 90 days.
select customer_id
from {{ ref('customer_features') }}
where recency_days < {{ var('active_days', 90) }}
