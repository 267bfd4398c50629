select customer_id from {{ ref('features') }} where first_order_days < 30
