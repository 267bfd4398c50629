select customer_id from {{ ref('features') }} where recency_days < 90
