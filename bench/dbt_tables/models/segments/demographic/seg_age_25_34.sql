-- age_25_34 (segments/demographic.yaml): Aged 25 to 34.
select customer_id
from {{ ref('customer_features') }}
where age between 25 and 34
