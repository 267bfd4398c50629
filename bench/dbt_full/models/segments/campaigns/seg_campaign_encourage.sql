-- campaign_encourage (segments/campaigns.yaml): Active but not yet loyal — nudge them to the next order.
select customer_id from {{ ref('seg_active') }}
except
select customer_id from {{ ref('seg_loyal') }}
