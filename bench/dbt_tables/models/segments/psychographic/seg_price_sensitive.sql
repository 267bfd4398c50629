-- price_sensitive (segments/psychographic.yaml): Says prices matter a lot (survey 4 or 5), or behaves like it (a coupon lover).
select customer_id from {{ ref('customer_features') }}
where price_sensitivity >= {{ var('price_sensitive_min', 4) }}
union
select customer_id from {{ ref('seg_coupon_lovers') }}
