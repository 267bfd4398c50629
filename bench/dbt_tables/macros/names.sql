{#- The library's rule segments (one model seg_<name> each), in the library's order. -#}
{% macro rule_segments() -%}
{{ return([
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
]) }}
{%- endmacro %}

{#- Every segment name: the rule segments, then the labels of the rfm and rfm_club scores. -#}
{% macro segment_names() -%}
{%- set rfm = ['champions', 'loyal', 'cannot_lose', 'at_risk', 'potential_loyalists', 'promising', 'new',
               'need_attention', 'about_to_sleep', 'hibernating', 'lost'] -%}
{%- set club = ['platinum', 'gold', 'silver', 'bronze'] -%}
{%- set names = rule_segments() -%}
{%- for l in rfm %}{% do names.append('rfm_' ~ l) %}{% endfor -%}
{%- for l in club %}{% do names.append('rfm_club_' ~ l) %}{% endfor -%}
{{ return(names) }}
{%- endmacro %}

{#- The names as an SQL list literal, for unnest(). -#}
{% macro all_segment_names() -%}
[{% for n in segment_names() %}{% if not loop.first %}, {% endif %}'{{ n }}'{% endfor %}]
{%- endmacro %}

{#- The segment ENUM type: every name in alphabetical order, as segmenter publishes it. -#}
{% macro segment_enum() -%}
enum({% for n in segment_names() | sort %}{% if not loop.first %}, {% endif %}'{{ n }}'{% endfor %})
{%- endmacro %}
