-- coupon_lovers (segments/behaviour.yaml): Buys only with a coupon — every order (or the var-set share of them) used one; a one-order customer counts when that order did.
select customer_id
from {{ ref('customer_features') }}
where order_count >= 1 and coupon_share >= {{ var('coupon_lover_share', 1.0) }}
