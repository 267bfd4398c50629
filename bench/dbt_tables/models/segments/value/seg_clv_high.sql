-- clv_high (segments/value.yaml): Lifetime spend above the medium band.
select customer_id
from {{ ref('customer_features') }}
where total_spent > {{ var('clv_medium_max', 5000) }}
