select customer_id from {{ ref('features') }} where order_count >= 2
