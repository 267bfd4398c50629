-- country_unknown (segments/geographic.yaml): No country on record — neither home market nor international; fix the address data or ask.
select customer_id
from {{ ref('customer_features') }}
where country is null
