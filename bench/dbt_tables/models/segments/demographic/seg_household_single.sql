-- household_single (segments/demographic.yaml): Lives alone (household size 1, from the survey).
select customer_id
from {{ ref('customer_features') }}
where household_size = 1
