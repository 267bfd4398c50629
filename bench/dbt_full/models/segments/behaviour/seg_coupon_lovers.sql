-- coupon_lovers (segments/behaviour.yaml): At least half of the orders used a coupon (and at least 2 coupon orders).
select customer_id
from {{ ref('customer_features') }}
where coupon_share >= {{ var('coupon_lover_share', 0.5) }} and coupon_orders >= 2
