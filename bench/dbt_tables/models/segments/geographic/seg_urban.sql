-- urban (segments/geographic.yaml): Lives in an urban area.
select customer_id
from {{ ref('customer_features') }}
where area_type = 'urban'
