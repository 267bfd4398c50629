-- gender_male (segments/demographic.yaml): Registered as male.
select customer_id
from {{ ref('customer_features') }}
where gender = 'male'
