-- clv_medium (segments/value.yaml): Lifetime spend above the low band, up to the high band.
select customer_id
from {{ ref('customer_features') }}
where total_spent > {{ var('clv_low_max', 1000) }} and total_spent <= {{ var('clv_medium_max', 5000) }}
