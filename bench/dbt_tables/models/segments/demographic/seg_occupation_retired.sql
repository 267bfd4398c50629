-- occupation_retired (segments/demographic.yaml): Retired.
select customer_id
from {{ ref('customer_features') }}
where occupation = 'retired'
