-- churn_risk_high (segments/churn.yaml): At least 3 usual intervals without an order.
select customer_id
from {{ ref('customer_features') }}
where churn_ratio >= {{ var('churn_high_ratio', 3) }}
