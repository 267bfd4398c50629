-- single (segments/demographic.yaml): Marital status single.
select customer_id
from {{ ref('customer_features') }}
where marital_status = 'single'
