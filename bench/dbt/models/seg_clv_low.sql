select customer_id from {{ ref('features') }} where total_spent <= 1000
