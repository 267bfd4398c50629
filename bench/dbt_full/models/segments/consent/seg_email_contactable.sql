-- email_contactable (segments/consent.yaml): May receive email (has not opted out).
select customer_id
from {{ ref('customer_features') }}
where not email_opted_out
