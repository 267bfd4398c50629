-- education_higher (segments/demographic.yaml): Bachelor's degree or higher.
select customer_id
from {{ ref('customer_features') }}
where education in ('bachelor', 'master_or_higher')
