-- rural (segments/geographic.yaml): Lives in a rural area.
select customer_id
from {{ ref('customer_features') }}
where area_type = 'rural'
