-- gender_female (segments/demographic.yaml): Registered as female.
select customer_id
from {{ ref('customer_features') }}
where gender = 'female'
