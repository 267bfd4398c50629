-- occupation_student (segments/demographic.yaml): Studying.
select customer_id
from {{ ref('customer_features') }}
where occupation = 'student'
