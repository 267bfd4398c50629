-- Opt-outs per channel: the latest consent row of each channel counts (segments/consent.yaml);
-- customers without a row for a channel get NULL there (consent unknown) in customer_features.
select
    customer_id,
    arg_max(opted_out, updated_at) filter (where channel = 'email') as email_opted_out,
    arg_max(opted_out, updated_at) filter (where channel = 'sms') as sms_opted_out,
    arg_max(opted_out, updated_at) filter (where channel = 'push') as push_opted_out
from {{ ref('stg_consent') }}
group by customer_id
