-- household_large (segments/demographic.yaml): A household of 4 or more people (var large_household_size), from the survey.
select customer_id
from {{ ref('customer_features') }}
where household_size >= {{ var('large_household_size', 4) }}
