-- Relationship level from tenure, frequency and spend (segments/tiers.yaml); first level reached
-- wins, a NULL condition (no recency without orders) falls through.
select customer_id,
    case
        when total_spent >= {{ var('level_vip_spend', 5000) }} and tenure_days >= {{ var('level_vip_tenure_days', 365) }} then 'vip'
        when order_count >= {{ var('level_gold_orders', 8) }} and total_spent >= {{ var('level_gold_spend', 1500) }} then 'gold'
        when order_count >= {{ var('level_loyal_orders', 4) }} and tenure_days >= {{ var('level_loyal_tenure_days', 365) }} then 'loyal'
        when recency_days < {{ var('level_active_days', 90) }} then 'active'
        else 'newcomer'
    end as tier
from {{ ref('customer_features') }}
