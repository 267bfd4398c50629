-- clv_low (segments/value.yaml): Lifetime spend up to 1000 (var clv_low_max), including customers without orders.
select customer_id
from {{ ref('customer_features') }}
where total_spent <= {{ var('clv_low_max', 1000) }}
