-- age_65_plus (segments/demographic.yaml): Aged 65 or older.
select customer_id
from {{ ref('customer_features') }}
where age >= 65
