-- Campaign messages sent and clicked in the last 90 days (segments/engagement.yaml).
select
    customer_id,
    count(*) as campaigns_sent_90d,
    count(*) filter (where clicked) as campaigns_clicked_90d
from {{ ref('stg_campaign_events') }}
where sent_at >= {{ window_start(90, 'day') }}
  and holdout is not true  -- a holdout row (kept out of a campaign) is not a message
group by customer_id
