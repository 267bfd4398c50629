select customer_id from {{ ref('features') }} where total_spent > 1000 and total_spent <= 5000
