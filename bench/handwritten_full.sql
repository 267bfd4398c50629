-- The FULL built-in library (segments/*.yaml: 69 rule segments, the rfm score's 11 label
-- segments and the rfm_club score's 4, the club_tier and loyalty_level ladders) written by hand
-- for DuckDB, as of
-- getvariable('as_of') (a DATE), reading getvariable('data') (a folder of Parquet files from
-- `segmenter generate --orders N`). Leaves hand_members(customer_id, segment): one row per
-- membership, plus one row per ladder assignment as '<ladder>/<level>'.
--
-- Shape: one grouped scan per source, left-joined to the customers population into one wide
-- feature table; population statistics in one pass over it; every segment is a boolean column
-- of one more pass, unpivoted at the end. Library vars are at their YAML defaults.
--
-- Semantics kept from the library (see docs/language.md):
--  * rows later than as_of are ignored for every source with a time column (survey has none
--    and is read whole); windows are whole days ending on as_of
--    (90d: >= as_of + 1 day - 90 days, 12m: >= as_of + 1 day - 12 months);
--  * count features are 0 without rows; sums are NULL unless the feature has default 0
--    (total_spent, spend_12m, holiday_spend, clicks_90d); recency-type features stay NULL;
--  * holiday_spend counts the shared window (11-23 .. 12-31) and the holidays of the order's
--    ship_country (macros/holidays.sql: US 07-01..07-04, CA 06-28..07-01, GB 12-26..01-03,
--    AU 12-26..01-10, ES 01-02..01-06, DE 07-25..08-05; a window across the year end holds
--    from its start to 31 December and from 1 January to its end);
--  * a rule that is NULL is not a member; stat() runs over all customers, ignoring NULLs,
--    median/quantile are continuous (quantile_cont);
--  * RFM: among buyers, score = 1 + floor(5 * (rank - 1) / n), rank() so ties share a score;
--    the first matching label wins; rfm_club scores the same parts (so the same r, f, m) and
--    labels by r + f + m;
--  * ladders: first matching level wins, a NULL condition falls through.
-- Only features some rule needs are computed (segmenter also publishes e.g. abandoned_products,
-- the sms/push opt-outs, page_views_90d, lifestyle). Segments built on other segments combine
-- the coalesced flags, as segmenter does: segment(x) is coalesce((x's rule), FALSE), so
-- NOT segment(x) holds for a customer whose features make x's rule NULL.
-- The campaign audiences are one exclusive group (retain > win_back > encourage): each member's
-- rule AND NOT any member of higher priority.

CREATE OR REPLACE TEMP TABLE hand_features AS
WITH
pop AS (
    SELECT customer_id,
           date_diff('day', signup_date, getvariable('as_of')) AS tenure_days,
           date_sub('year', birth_date, getvariable('as_of')) AS age,
           gender, country, province, city, area_type, climate_zone, income_band, education, marital_status,
           occupation
    FROM read_parquet(getvariable('data') || '/customers.parquet')
    WHERE signup_date < getvariable('as_of') + INTERVAL 1 DAY
),
o AS (
    SELECT customer_id,
           count(*) AS order_count,
           sum(amount) AS total_spent,
           date_diff('day', max(ordered_at), getvariable('as_of')) AS recency_days,
           date_diff('day', min(ordered_at), getvariable('as_of')) AS first_order_days,
           date_diff('day', min(ordered_at), max(ordered_at)) AS active_span_days,
           count(*) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH) AS orders_12m,
           sum(amount) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH) AS spend_12m,
           count(*) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY) AS orders_90d,
           count(*) FILTER (WHERE coupon_code IS NOT NULL) AS coupon_orders,
           count(DISTINCT date_trunc('month', ordered_at)) AS order_months,
           date_diff('month', min(ordered_at), max(ordered_at)) + 1 AS order_span_months,
           -- the shared holiday window (11-23 .. 12-31) or a holiday of the ship country
           sum(amount) FILTER (WHERE md BETWEEN 1123 AND 1231
                                  OR (ship_country = 'US' AND md BETWEEN 701 AND 704)
                                  OR (ship_country = 'CA' AND md BETWEEN 628 AND 701)
                                  OR (ship_country = 'GB' AND (md >= 1226 OR md <= 103))
                                  OR (ship_country = 'AU' AND (md >= 1226 OR md <= 110))
                                  OR (ship_country = 'ES' AND md BETWEEN 102 AND 106)
                                  OR (ship_country = 'DE' AND md BETWEEN 725 AND 805)) AS holiday_spend
    FROM (SELECT *, month(ordered_at) * 100 + day(ordered_at) AS md
          FROM read_parquet(getvariable('data') || '/orders.parquet'))
    WHERE ordered_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
s AS (
    SELECT customer_id,
           count(*) AS session_count,
           count(*) FILTER (WHERE started_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY) AS sessions_90d,
           sum(clicks) FILTER (WHERE started_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY) AS clicks_90d,
           avg(duration_s) / 60.0 AS avg_visit_minutes,
           count(*) FILTER (WHERE device = 'mobile') AS mobile_sessions,
           count(*) FILTER (WHERE device = 'desktop') AS desktop_sessions,
           count(DISTINCT device) AS device_types
    FROM read_parquet(getvariable('data') || '/sessions.parquet')
    WHERE started_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
c AS (  -- only the 30-day abandoned carts matter
    SELECT customer_id, count(*) AS abandoned_carts_recent
    FROM read_parquet(getvariable('data') || '/carts.parquet')
    WHERE created_at < getvariable('as_of') + INTERVAL 1 DAY
      AND created_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 30 DAY
      AND status = 'abandoned'
    GROUP BY customer_id
),
e AS (  -- only the last 90 days of campaign messages matter (holdout rows are not messages)
    SELECT customer_id,
           count(*) AS campaigns_sent_90d,
           count(*) FILTER (WHERE clicked) AS campaigns_clicked_90d
    FROM read_parquet(getvariable('data') || '/campaign_events.parquet')
    WHERE sent_at < getvariable('as_of') + INTERVAL 1 DAY
      AND sent_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY
      AND holdout IS NOT TRUE  -- a holdout row (kept out of a campaign) is not a message
    GROUP BY customer_id
),
ic AS (  -- order lines per customer and category, up to as_of (lines carry their order's time)
    SELECT customer_id, category, count(*) AS n
    FROM read_parquet(getvariable('data') || '/order_items.parquet')
    WHERE ordered_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id, category
),
i AS (  -- top category: most lines, alphabetically first on a tie
    SELECT customer_id,
           sum(n) AS item_lines,
           max(n) AS top_lines,
           arg_min(category, (-n, category)) AS top_category
    FROM ic
    GROUP BY customer_id
),
sv AS (
    SELECT customer_id, max(price_sensitivity) AS price_sensitivity, max(interests) AS interests,
           max(household_size) AS household_size
    FROM read_parquet(getvariable('data') || '/survey.parquet')
    GROUP BY customer_id
),
cs AS (  -- the latest email consent row counts; no email row: NULL (consent unknown, not contactable)
    SELECT customer_id, arg_max(opted_out, updated_at) AS email_opted_out
    FROM read_parquet(getvariable('data') || '/consent.parquet')
    WHERE updated_at < getvariable('as_of') + INTERVAL 1 DAY AND channel = 'email'
    GROUP BY customer_id
)
SELECT p.*,
       coalesce(o.order_count, 0) AS order_count,
       coalesce(o.total_spent, 0) AS total_spent,
       o.recency_days, o.first_order_days, o.active_span_days,
       coalesce(o.orders_12m, 0) AS orders_12m,
       coalesce(o.spend_12m, 0) AS spend_12m,
       coalesce(o.orders_90d, 0) AS orders_90d,
       coalesce(o.coupon_orders, 0) AS coupon_orders,
       coalesce(o.order_months, 0) AS order_months,
       o.order_span_months,
       coalesce(o.holiday_spend, 0) AS holiday_spend,
       coalesce(s.session_count, 0) AS session_count,
       coalesce(s.sessions_90d, 0) AS sessions_90d,
       coalesce(s.clicks_90d, 0) AS clicks_90d,
       s.avg_visit_minutes,
       coalesce(s.mobile_sessions, 0) AS mobile_sessions,
       coalesce(s.desktop_sessions, 0) AS desktop_sessions,
       coalesce(s.device_types, 0) AS device_types,
       coalesce(c.abandoned_carts_recent, 0) AS abandoned_carts_recent,
       coalesce(e.campaigns_sent_90d, 0) AS campaigns_sent_90d,
       coalesce(e.campaigns_clicked_90d, 0) AS campaigns_clicked_90d,
       coalesce(i.item_lines, 0) AS item_lines,
       i.top_lines, i.top_category,
       sv.price_sensitivity, sv.interests, sv.household_size,
       cs.email_opted_out
FROM pop p
LEFT JOIN o USING (customer_id)
LEFT JOIN s USING (customer_id)
LEFT JOIN c USING (customer_id)
LEFT JOIN e USING (customer_id)
LEFT JOIN i USING (customer_id)
LEFT JOIN sv USING (customer_id)
LEFT JOIN cs USING (customer_id);

CREATE OR REPLACE TEMP TABLE hand_derived AS
WITH d0 AS (
    SELECT *,
           total_spent / nullif(order_count, 0) AS aov,
           coupon_orders / nullif(order_count, 0) AS coupon_share,
           order_months / order_span_months AS month_coverage,
           holiday_spend / nullif(total_spent, 0) AS holiday_share,
           active_span_days / nullif(order_count - 1, 0) AS avg_interval_days,
           top_lines / nullif(item_lines, 0) AS top_category_share,
           mobile_sessions / nullif(session_count, 0) AS mobile_share,
           desktop_sessions / nullif(session_count, 0) AS desktop_share,
           0.3 * least(sessions_90d / 10, 1)
             + 0.2 * least(clicks_90d / 40, 1)
             + 0.2 * coalesce(campaigns_clicked_90d / nullif(campaigns_sent_90d, 0), 0)
             + 0.3 * least(orders_90d / 2, 1) AS engagement_score
    FROM hand_features
)
-- churn ratio: days since the last order over the customer's usual interval (the store median
-- interval for single-order customers); loyal_buyer: more orders than the store average (and
-- more than 3) and an order in the last year (the loyal segment and the ladder's loyal level)
SELECT *,
       recency_days / greatest(coalesce(avg_interval_days, (SELECT quantile_cont(avg_interval_days, 0.5) FROM d0)), 1) AS churn_ratio,
       coalesce(order_count > greatest(3, (SELECT avg(order_count) FROM d0)) AND recency_days <= 365, FALSE) AS loyal_buyer
FROM d0;

CREATE OR REPLACE TABLE hand_members AS
WITH
st AS (  -- population statistics (over all customers, NULLs ignored)
    SELECT avg(session_count) AS avg_sessions,
           quantile_cont(total_spent, 0.5) AS median_spent,
           -- buyer_spend: total_spent of customers with orders (NULL for the others)
           quantile_cont(CASE WHEN order_count > 0 THEN total_spent END, 0.9) AS p90_buyer_spend
    FROM hand_derived
),
flags AS (
    SELECT d.customer_id,
           -- affinity
           coalesce(top_category_share >= 0.5 AND item_lines >= 4, FALSE) AS category_loyal,
           coalesce(top_category = 'electronics' AND top_category_share >= 0.4, FALSE) AS affinity_electronics,
           coalesce(top_category = 'fashion' AND top_category_share >= 0.4, FALSE) AS affinity_fashion,
           coalesce(top_category = 'home' AND top_category_share >= 0.4, FALSE) AS affinity_home,
           -- behaviour
           loyal_buyer AS loyal,
           order_count = 1 AS one_time_buyers,
           order_count = 0 AND session_count > 4 AS registered_no_orders,
           coalesce(order_count >= 1 AND coupon_share >= 1.0, FALSE) AS coupon_lovers,
           session_count > avg_sessions AND order_count <= 1 AS hesitant,
           abandoned_carts_recent >= 1 AS cart_abandoners,
           coalesce(order_count >= 4 AND order_span_months >= 3 AND month_coverage >= 0.8 AND recency_days < 45, FALSE) AS periodic_buyers,
           -- lifecycle
           coalesce(first_order_days < 30, FALSE) AS new_customers,
           order_count >= 2 AS "returning",
           coalesce(recency_days < 90, FALSE) AS active,
           coalesce(recency_days >= 180, FALSE) AS inactive,
           -- value
           total_spent <= 1000 AS clv_low,
           total_spent > 1000 AND total_spent <= 5000 AS clv_medium,
           total_spent > 5000 AS clv_high,
           coalesce(order_count >= 2 AND total_spent >= p90_buyer_spend, FALSE) AS big_spenders,
           coalesce(aov > 700, FALSE) AS luxury_buyers,
           -- churn
           coalesce(churn_ratio >= 3, FALSE) AS churn_risk_high,
           coalesce(churn_ratio >= 1.5 AND churn_ratio < 3, FALSE) AS churn_risk_medium,
           coalesce(churn_ratio < 1.5, FALSE) AS churn_risk_low,
           -- consent
           NOT email_opted_out AS email_contactable,
           email_opted_out AS opted_out_email,
           -- demographic
           coalesce(age BETWEEN 18 AND 24, FALSE) AS age_18_24,
           coalesce(age BETWEEN 25 AND 34, FALSE) AS age_25_34,
           coalesce(age BETWEEN 35 AND 44, FALSE) AS age_35_44,
           coalesce(age BETWEEN 45 AND 54, FALSE) AS age_45_54,
           coalesce(age BETWEEN 55 AND 64, FALSE) AS age_55_64,
           coalesce(age >= 65, FALSE) AS age_65_plus,
           coalesce(gender = 'female', FALSE) AS gender_female,
           coalesce(gender = 'male', FALSE) AS gender_male,
           coalesce(income_band = 'low', FALSE) AS income_low,
           coalesce(income_band = 'middle', FALSE) AS income_middle,
           coalesce(income_band IN ('high', 'very_high'), FALSE) AS income_high,
           coalesce(education = 'secondary', FALSE) AS education_secondary,
           coalesce(education IN ('bachelor', 'master_or_higher'), FALSE) AS education_higher,
           coalesce(marital_status = 'single', FALSE) AS single,
           coalesce(marital_status = 'married', FALSE) AS married,
           coalesce(occupation = 'student', FALSE) AS occupation_student,
           coalesce(occupation IN ('professional', 'manager'), FALSE) AS occupation_professional,
           coalesce(occupation = 'retired', FALSE) AS occupation_retired,
           coalesce(household_size = 1, FALSE) AS household_single,
           coalesce(household_size >= 4, FALSE) AS household_large,
           -- engagement
           engagement_score >= 0.5 AS engagement_high,
           engagement_score >= 0.2 AND engagement_score < 0.5 AS engagement_medium,
           engagement_score < 0.2 AS engagement_low,
           coalesce(avg_visit_minutes >= 10 AND session_count >= 3, FALSE) AS long_visits,
           -- geographic
           coalesce(country = 'US', FALSE) AS home_market,
           coalesce(country IS NOT NULL AND country <> 'US', FALSE) AS international,
           country IS NULL AS country_unknown,
           coalesce(area_type = 'urban', FALSE) AS urban,
           coalesce(area_type = 'rural', FALSE) AS rural,
           coalesce(climate_zone IN ('tropical', 'subtropical', 'arid', 'mediterranean'), FALSE) AS warm_climate,
           coalesce(climate_zone = 'continental', FALSE) AS cold_climate,
           coalesce(province IN ('California', 'Ontario', 'Bavaria'), FALSE) AS target_provinces,
           coalesce(city IN ('New York', 'Toronto', 'London'), FALSE) AS target_cities,
           -- holidays
           coalesce(holiday_share >= 0.5, FALSE) AS holiday_shoppers,
           -- psychographic
           coalesce(interests IN ('sports', 'outdoor'), FALSE) AS interest_sports_outdoor,
           coalesce(interests IN ('fashion', 'beauty'), FALSE) AS interest_fashion_beauty,
           coalesce(interests IN ('home', 'cooking'), FALSE) AS interest_home_living,
           coalesce(price_sensitivity >= 4, FALSE) AS says_price_sensitive,
           -- technographic
           coalesce(mobile_share >= 0.6 AND session_count >= 3, FALSE) AS mobile_first,
           coalesce(desktop_share >= 0.6 AND session_count >= 3, FALSE) AS desktop_first,
           coalesce(device_types >= 2 AND session_count >= 3 AND mobile_share < 0.6 AND desktop_share < 0.6, FALSE) AS multi_device,
           total_spent >= median_spent AS spent_over_median,
           order_count >= 1 AS buyer,
           -- ladders (first matching level wins)
           CASE WHEN spend_12m >= 5000 THEN 'vip'
                WHEN spend_12m >= 1500 AND orders_12m >= 6 THEN 'gold'
                WHEN spend_12m >= 500 THEN 'silver'
                ELSE 'bronze' END AS club_tier,
           CASE WHEN spend_12m >= 5000 AND tenure_days >= 365 THEN 'vip'
                WHEN orders_12m >= 6 AND spend_12m >= 1500 AND tenure_days >= 90 THEN 'gold'
                WHEN loyal_buyer AND tenure_days >= 90 THEN 'loyal'
                WHEN recency_days < 90 AND tenure_days >= 90 THEN 'active'
                WHEN tenure_days < 90 THEN 'newcomer'
                WHEN order_count >= 1 THEN 'lapsed'
                ELSE 'dormant' END AS loyalty_level
    FROM hand_derived d, st
),
rfm AS (  -- quintiles among buyers; equal values share a rank and so a score
    SELECT customer_id,
           1 + (5 * (rank() OVER (ORDER BY recency_days DESC) - 1)) // count(*) OVER () AS r,
           1 + (5 * (rank() OVER (ORDER BY order_count) - 1)) // count(*) OVER () AS f,
           1 + (5 * (rank() OVER (ORDER BY total_spent) - 1)) // count(*) OVER () AS m
    FROM hand_derived
    WHERE order_count > 0
)
SELECT customer_id, segment
FROM (
    SELECT customer_id,
           category_loyal, affinity_electronics, affinity_fashion, affinity_home,
           loyal, one_time_buyers, registered_no_orders, coupon_lovers, hesitant, cart_abandoners, periodic_buyers,
           -- campaigns: one exclusive group, retain > win_back > encourage
           inactive AND ("returning" OR spent_over_median) AND NOT (loyal OR clv_high) AS campaign_win_back,
           buyer AND NOT (loyal OR clv_high) AND NOT (inactive AND ("returning" OR spent_over_median)) AS campaign_encourage,
           loyal OR clv_high AS campaign_retain,
           churn_risk_high, churn_risk_medium, churn_risk_low,
           email_contactable, opted_out_email,
           age_18_24, age_25_34, age_35_44, age_45_54, age_55_64, age_65_plus, gender_female, gender_male,
           income_low, income_middle, income_high, education_secondary, education_higher, single, married,
           occupation_student, occupation_professional, occupation_retired, household_single, household_large,
           engagement_high, engagement_medium, engagement_low, long_visits,
           home_market, international, country_unknown, urban, rural, warm_climate, cold_climate,
           target_provinces, target_cities,
           holiday_shoppers,
           new_customers, "returning", active, inactive,
           says_price_sensitive OR coupon_lovers AS price_sensitive,
           interest_sports_outdoor, interest_fashion_beauty, interest_home_living,
           mobile_first, desktop_first, multi_device,
           clv_low, clv_medium, clv_high, big_spenders, luxury_buyers
    FROM flags
) UNPIVOT (is_member FOR segment IN (COLUMNS(* EXCLUDE (customer_id))))
WHERE is_member
UNION ALL
SELECT customer_id, 'rfm_' || CASE
    WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
    WHEN r >= 3 AND f >= 4 THEN 'loyal'
    WHEN r <= 2 AND f >= 4 AND m >= 4 THEN 'cannot_lose'
    WHEN r <= 2 AND f >= 3 THEN 'at_risk'
    WHEN r >= 4 AND f >= 2 THEN 'potential_loyalists'
    WHEN r >= 4 AND f = 1 AND m >= 3 THEN 'promising'
    WHEN r >= 4 AND f = 1 THEN 'new'
    WHEN r = 3 AND f >= 2 THEN 'need_attention'
    WHEN r = 3 AND f = 1 THEN 'about_to_sleep'
    WHEN r = 2 THEN 'hibernating'
    WHEN r = 1 THEN 'lost' END AS segment
FROM rfm
WHERE segment IS NOT NULL
UNION ALL
SELECT customer_id, 'rfm_club_' || CASE  -- the same parts, so the same r, f, m
    WHEN r + f + m >= 13 THEN 'platinum'
    WHEN r + f + m >= 10 THEN 'gold'
    WHEN r + f + m >= 7 THEN 'silver'
    WHEN r + f + m >= 3 THEN 'bronze' END AS segment
FROM rfm
WHERE segment IS NOT NULL
UNION ALL
SELECT customer_id, 'club_tier/' || club_tier FROM flags
UNION ALL
SELECT customer_id, 'loyalty_level/' || loyalty_level FROM flags;
