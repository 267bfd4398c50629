-- churn_risk_medium (segments/churn.yaml): Between 1.5 and 3 usual intervals without an order.
select customer_id
from {{ ref('customer_features') }}
where churn_ratio >= {{ var('churn_medium_ratio', 1.5) }} and churn_ratio < {{ var('churn_high_ratio', 3) }}
