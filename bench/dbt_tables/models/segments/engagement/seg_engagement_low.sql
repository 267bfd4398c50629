-- engagement_low (segments/engagement.yaml): Low engagement — little interaction and few purchases in the last 90 days (engagement score below 0.2), buyers or not.
select customer_id
from {{ ref('customer_features') }}
where engagement_score < {{ var('engagement_medium_min', 0.2) }}
