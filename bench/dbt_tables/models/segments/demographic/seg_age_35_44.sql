-- age_35_44 (segments/demographic.yaml): Aged 35 to 44.
select customer_id
from {{ ref('customer_features') }}
where age between 35 and 44
