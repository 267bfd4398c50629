-- One long membership table, as segmenter's segment_members + the club_tier ladder.
select customer_id, 'clv_low' as segment from {{ ref('seg_clv_low') }}
union all
select customer_id, 'clv_medium' as segment from {{ ref('seg_clv_medium') }}
union all
select customer_id, 'clv_high' as segment from {{ ref('seg_clv_high') }}
union all
select customer_id, 'one_time_buyers' as segment from {{ ref('seg_one_time_buyers') }}
union all
select customer_id, 'returning' as segment from {{ ref('seg_returning') }}
union all
select customer_id, 'active' as segment from {{ ref('seg_active') }}
union all
select customer_id, 'inactive' as segment from {{ ref('seg_inactive') }}
union all
select customer_id, 'new_customers' as segment from {{ ref('seg_new_customers') }}
union all
select customer_id, 'club_tier/' || tier from {{ ref('club_tier') }}
