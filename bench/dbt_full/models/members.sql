-- One long membership table (customer_id, segment): every rule segment, the rfm_<label> and
-- rfm_club_<label> segments, and one '<ladder>/<level>' row per customer and ladder.
{%- set segments = [
    'category_loyal', 'affinity_electronics', 'affinity_fashion', 'affinity_home',
    'loyal', 'one_time_buyers', 'registered_no_orders', 'coupon_lovers', 'hesitant', 'cart_abandoners', 'periodic_buyers',
    'campaign_win_back', 'campaign_encourage', 'campaign_retain',
    'churn_risk_high', 'churn_risk_medium', 'churn_risk_low',
    'email_contactable', 'opted_out_email',
    'age_18_24', 'age_25_34', 'age_35_44', 'age_45_54', 'age_55_64', 'age_65_plus', 'gender_female', 'gender_male',
    'income_low', 'income_middle', 'income_high', 'education_secondary', 'education_higher', 'single', 'married',
    'occupation_student', 'occupation_professional', 'occupation_retired', 'household_single', 'household_large',
    'engagement_high', 'engagement_medium', 'engagement_low', 'long_visits',
    'home_market', 'international', 'country_unknown', 'urban', 'rural', 'warm_climate', 'cold_climate',
    'target_provinces', 'target_cities',
    'holiday_shoppers',
    'new_customers', 'returning', 'active', 'inactive',
    'price_sensitive', 'interest_sports_outdoor', 'interest_fashion_beauty', 'interest_home_living',
    'mobile_first', 'desktop_first', 'multi_device',
    'clv_low', 'clv_medium', 'clv_high', 'big_spenders', 'luxury_buyers',
] %}
{% for s in segments %}
select customer_id, '{{ s }}' as segment from {{ ref('seg_' ~ s) }}
union all
{%- endfor %}
select customer_id, 'rfm_' || label as segment from {{ ref('rfm_scores') }} where label is not null
union all
select customer_id, 'rfm_club_' || label as segment from {{ ref('rfm_club_scores') }} where label is not null
union all
select customer_id, 'club_tier/' || tier as segment from {{ ref('club_tier') }}
union all
select customer_id, 'loyalty_level/' || tier as segment from {{ ref('loyalty_level') }}
