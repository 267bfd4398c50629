-- opted_out_email (segments/consent.yaml): Opted out of email; never included in email exports
-- (no email consent row: NULL, not selected).
select customer_id
from {{ ref('customer_features') }}
where email_opted_out
