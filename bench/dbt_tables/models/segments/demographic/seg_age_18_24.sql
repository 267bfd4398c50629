-- age_18_24 (segments/demographic.yaml): Aged 18 to 24.
select customer_id
from {{ ref('customer_features') }}
where age between 18 and 24
