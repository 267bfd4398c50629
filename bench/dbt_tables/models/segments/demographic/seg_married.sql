-- married (segments/demographic.yaml): Marital status married.
select customer_id
from {{ ref('customer_features') }}
where marital_status = 'married'
