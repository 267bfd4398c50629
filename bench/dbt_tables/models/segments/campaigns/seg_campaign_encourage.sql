-- campaign_encourage (segments/campaigns.yaml): Every other buyer — neither retained nor won back — nudged to the next order.
-- One exclusive group: retain before win-back before encourage.
select customer_id
from {{ ref('customer_features') }}
where order_count >= 1
except
select customer_id from {{ ref('seg_campaign_retain') }}
except
select customer_id from {{ ref('seg_campaign_win_back') }}
