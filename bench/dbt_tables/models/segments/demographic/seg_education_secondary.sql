-- education_secondary (segments/demographic.yaml): Secondary education.
select customer_id
from {{ ref('customer_features') }}
where education = 'secondary'
