-- Every level of both ladders with its size and share of all customers (segmenter's catalog
-- reduced to these columns). ladder and tier are VARCHAR here, as a full `segmenter run` writes them.
with
defs (ladder, tier, rank) as (
    values ('club_tier', 'vip', 1), ('club_tier', 'gold', 2), ('club_tier', 'silver', 3), ('club_tier', 'bronze', 4),
           ('loyalty_level', 'vip', 1), ('loyalty_level', 'gold', 2), ('loyalty_level', 'loyal', 3),
           ('loyalty_level', 'active', 4), ('loyalty_level', 'newcomer', 5), ('loyalty_level', 'lapsed', 6),
           ('loyalty_level', 'dormant', 7)
),
sizes as (select ladder::varchar as ladder, tier::varchar as tier, count(*) as size
          from {{ ref('tier_assignments') }} group by all),
total as (select count(*) as n from {{ ref('customer_features') }})
select ladder, tier, rank, coalesce(size, 0) as size,
       case when n = 0 then 0 else round(coalesce(size, 0) / n, 4) end as share
from defs left join sizes using (ladder, tier), total
