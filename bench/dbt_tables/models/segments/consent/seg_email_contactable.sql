-- email_contactable (segments/consent.yaml): May receive email — the latest email consent row says
-- not opted out (no row, no email: NOT NULL is NULL, so the row is not selected).
select customer_id
from {{ ref('customer_features') }}
where not email_opted_out
