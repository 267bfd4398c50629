-- loyal (segments/behaviour.yaml): More orders than the store average (and more than 3), and still
-- buying (an order in the last year): the published feature loyal_buyer, as the library keeps it.
select customer_id
from {{ ref('customer_features') }}
where loyal_buyer
