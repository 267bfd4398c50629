-- Both ladders (segments/tiers.yaml) in segmenter's shape: one row per customer and ladder with
-- the level, its rank (1 = best), the level above (next_tier) and, for each threshold of that
-- level, how much is missing (greatest(threshold - value, 0)); the best level and the `when`
-- levels (active, newcomer, lapsed, dormant) have no gaps. The first level reached wins; a NULL
-- condition (no recency without orders) falls through. ladder, tier and next_tier are ENUMs of
-- the names in alphabetical order, as segmenter publishes them.
{%- set tier_enum = "enum('active', 'bronze', 'dormant', 'gold', 'lapsed', 'loyal', 'newcomer', 'silver', 'vip')" %}
{%- set ladder_enum = "enum('club_tier', 'loyalty_level')" %}
with
club as (
    select customer_id, spend_12m, orders_12m,
        case
            when spend_12m >= {{ var('vip_spend_12m', 5000) }} then 1
            when spend_12m >= {{ var('gold_spend_12m', 1500) }} and orders_12m >= {{ var('gold_orders_12m', 6) }} then 2
            when spend_12m >= {{ var('silver_spend_12m', 500) }} then 3
            else 4
        end as rank
    from {{ ref('customer_features') }}
),
loyalty as (
    select customer_id, spend_12m, orders_12m, tenure_days,
        case
            when spend_12m >= {{ var('level_vip_spend_12m', 5000) }} and tenure_days >= {{ var('level_vip_tenure_days', 365) }} then 1
            when orders_12m >= {{ var('level_gold_orders_12m', 6) }} and spend_12m >= {{ var('level_gold_spend_12m', 1500) }}
                 and tenure_days >= {{ var('level_newcomer_days', 90) }} then 2
            when loyal_buyer and tenure_days >= {{ var('level_newcomer_days', 90) }} then 3
            when recency_days < {{ var('level_active_days', 90) }} and tenure_days >= {{ var('level_newcomer_days', 90) }} then 4
            when tenure_days < {{ var('level_newcomer_days', 90) }} then 5
            when order_count >= 1 then 6
            else 7
        end as rank
    from {{ ref('customer_features') }}
)
select customer_id, cast('club_tier' as {{ ladder_enum }}) as ladder,
    cast(['vip', 'gold', 'silver', 'bronze'][rank] as {{ tier_enum }}) as tier,
    rank,
    cast(['vip', 'gold', 'silver', 'bronze'][rank - 1] as {{ tier_enum }}) as next_tier,
    case rank when 2 then greatest({{ var('vip_spend_12m', 5000) }} - spend_12m, 0)
              when 3 then greatest({{ var('gold_spend_12m', 1500) }} - spend_12m, 0)
              when 4 then greatest({{ var('silver_spend_12m', 500) }} - spend_12m, 0) end as gap_spend_12m,
    case rank when 3 then greatest({{ var('gold_orders_12m', 6) }} - orders_12m, 0) end as gap_orders_12m
from club
union all by name
select customer_id, cast('loyalty_level' as {{ ladder_enum }}) as ladder,
    cast(['vip', 'gold', 'loyal', 'active', 'newcomer', 'lapsed', 'dormant'][rank] as {{ tier_enum }}) as tier,
    rank,
    cast(['vip', 'gold', 'loyal', 'active', 'newcomer', 'lapsed', 'dormant'][rank - 1] as {{ tier_enum }}) as next_tier,
    case rank when 2 then greatest({{ var('level_vip_spend_12m', 5000) }} - spend_12m, 0)
              when 3 then greatest({{ var('level_gold_spend_12m', 1500) }} - spend_12m, 0) end as gap_spend_12m,
    case rank when 3 then greatest({{ var('level_gold_orders_12m', 6) }} - orders_12m, 0) end as gap_orders_12m,
    case rank when 2 then greatest({{ var('level_vip_tenure_days', 365) }} - tenure_days, 0)
              when 3 then greatest({{ var('level_newcomer_days', 90) }} - tenure_days, 0) end as gap_tenure_days
from loyalty
