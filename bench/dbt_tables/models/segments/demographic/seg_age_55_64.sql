-- age_55_64 (segments/demographic.yaml): Aged 55 to 64.
select customer_id
from {{ ref('customer_features') }}
where age between 55 and 64
