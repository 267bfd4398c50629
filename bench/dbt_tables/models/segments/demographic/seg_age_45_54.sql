-- age_45_54 (segments/demographic.yaml): Aged 45 to 54.
select customer_id
from {{ ref('customer_features') }}
where age between 45 and 54
