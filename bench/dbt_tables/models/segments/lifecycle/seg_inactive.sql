-- inactive (segments/lifecycle.yaml): Has ordered before but not in the last 180 days (lapsed; win-back candidates).
select customer_id
from {{ ref('customer_features') }}
where recency_days >= {{ var('inactive_days', 180) }}
