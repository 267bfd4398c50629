-- The FULL built-in library written by hand for DuckDB, publishing THE SAME TABLES as
-- `segmenter run` (not just the memberships, as handwritten_full.sql does): the floor for this
-- engine when the work is "build the published database". As of getvariable('as_of') (a DATE),
-- reading getvariable('data') (a folder of Parquet files from `segmenter generate --orders N`).
-- Writes, in one transaction:
--   customer_features        one row per customer, the 60 columns (names, order and types) of
--                            segmenter's, e.g. top_category, abandoned_products, loyal_buyer,
--                            churn_ratio
--   rfm_scores               (customer_id, r, f, m, score, label, r_value, f_value, m_value)
--   rfm_club_scores          the same columns for the rfm_club score (the same parts, so the
--                            same r, f, m; label from r + f + m)
--   segment_members          (customer_id, segment): the 69 rule segments, the rfm_<label> and
--                            the rfm_club_<label> ones
--   tier_assignments         (customer_id, ladder, tier, rank, next_tier, gap_* columns)
--   segment_catalog          (name, size, share)  -- reduced: no descriptions, tags, hashes
--   tier_catalog             (ladder, tier, rank, size, share)  -- reduced likewise
--   segment_members_history  (as_of, customer_id, segment)      -- this as_of's rows replaced;
--                            a view over segment ids, as segmenter keeps it
--   tier_history             (as_of, customer_id, ladder, tier, rank)
-- and the view hand_members(customer_id, segment): memberships plus one row per ladder
-- assignment as '<ladder>/<tier>', the shape bench.py compares. segmenter's bookkeeping tables
-- (runs, feature_catalog) and the catalogs' descriptive columns are left out; rows are not
-- sorted (segmenter writes customer_features, rfm_scores and tier_assignments ordered by key).
--
-- Semantics are those of handwritten_full.sql (read its header): windows are whole days ending
-- on as_of, rows after as_of are ignored, count features are 0 without rows, sums are NULL
-- unless the feature has default 0, a NULL rule is not a member, stat() runs over all customers,
-- RFM ranks with rank() among buyers, the first matching tier wins. On top of that:
--  * loyal_buyer is a published (derived, BOOLEAN) feature: it compares order_count with the
--    store average over all customers, computed first (avg_orders below);
--  * top_category is the category with the most order lines, alphabetically first on a tie
--    (NULL categories not counted), top_category_lines its line count, from one
--    (customer, category) GROUP BY that also gives item_lines;
--  * abandoned_products joins the products of the 30-day abandoned carts with ';', newest cart
--    first, then by cart_id (string_agg(... ORDER BY created_at DESC, cart_id)); here as a list
--    of structs sorted once per customer, ~3x faster than the ordered aggregate (products is
--    never NULL in the generated data; array_to_string would skip NULLs as string_agg does);
--  * a tier's gaps are, for each threshold of the next better tier, how much is missing
--    (greatest(threshold - value, 0)); the best tier and a `when` tier have none;
--  * a segment used in another rule (segment(x)) is its coalesced flag, coalesce((rule), FALSE),
--    so NOT segment(x) holds when x's rule is NULL; the campaign audiences are one exclusive
--    group (retain > win_back > encourage): each one's rule AND NOT the higher ones'.

BEGIN TRANSACTION;

-- The top category first, into its own table: as one more CTE of the features query below, at
-- 100M orders under a 4 GB memory limit its two GROUP BYs (250M order lines) and the joins
-- together ran out of memory.
CREATE OR REPLACE TABLE hand_top_category AS
WITH ic AS (  -- order lines per customer and category, up to as_of (lines carry their order's time)
    SELECT customer_id, category, count(*) AS n
    FROM read_parquet(getvariable('data') || '/order_items.parquet')
    WHERE ordered_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id, category
)
SELECT customer_id,  -- top category: most lines, alphabetically first on a tie
       arg_min(category, (-n, category)) FILTER (WHERE category IS NOT NULL) AS top_category,
       max(n) FILTER (WHERE category IS NOT NULL) AS top_category_lines,
       sum(n)::BIGINT AS item_lines
FROM ic
GROUP BY customer_id;

CREATE OR REPLACE TABLE customer_features AS
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
o AS MATERIALIZED (  -- read three times: the features, the median interval and the average order count
    SELECT customer_id,
           count(*) AS order_count,
           sum(amount)::DECIMAL(18,2) AS total_spent,  -- money as the library declares it
           date_diff('day', max(ordered_at), getvariable('as_of')) AS recency_days,
           date_diff('day', min(ordered_at), getvariable('as_of')) AS first_order_days,
           date_diff('day', min(ordered_at), max(ordered_at)) AS active_span_days,
           count(*) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH) AS orders_12m,
           (sum(amount) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 12 MONTH))::DECIMAL(18,2) AS spend_12m,
           count(*) FILTER (WHERE ordered_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY) AS orders_90d,
           count(*) FILTER (WHERE coupon_code IS NOT NULL) AS coupon_orders,
           count(DISTINCT date_trunc('month', ordered_at)) AS order_months,
           date_diff('month', min(ordered_at), max(ordered_at)) + 1 AS order_span_months,
           -- the shared holiday window 11-23 .. 12-31, or a holiday of the ship country
           -- (month * 100 + day, inclusive; GB and AU cross the year end)
           (sum(amount) FILTER (WHERE md BETWEEN 1123 AND 1231
                                   OR (ship_country = 'US' AND md BETWEEN 701 AND 704)
                                   OR (ship_country = 'CA' AND md BETWEEN 628 AND 701)
                                   OR (ship_country = 'GB' AND (md >= 1226 OR md <= 103))
                                   OR (ship_country = 'AU' AND (md >= 1226 OR md <= 110))
                                   OR (ship_country = 'ES' AND md BETWEEN 102 AND 106)
                                   OR (ship_country = 'DE' AND md BETWEEN 725 AND 805)))::DECIMAL(18,2) AS holiday_spend
    FROM (SELECT *, month(ordered_at) * 100 + day(ordered_at) AS md
          FROM read_parquet(getvariable('data') || '/orders.parquet'))
    WHERE ordered_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
avg_orders AS (  -- the store's average order count, over all customers (0 without orders)
    SELECT avg(coalesce(o.order_count, 0)) AS n
    FROM pop LEFT JOIN o USING (customer_id)
),
median_interval AS (  -- the store's median days between orders, over the customers only
    SELECT quantile_cont(active_span_days / nullif(order_count - 1, 0), 0.5) AS days
    FROM o
    WHERE customer_id IN (SELECT customer_id FROM read_parquet(getvariable('data') || '/customers.parquet')
                          WHERE signup_date < getvariable('as_of') + INTERVAL 1 DAY)
),
s AS (
    SELECT customer_id,
           count(*) AS session_count,
           count(*) FILTER (WHERE started_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY) AS sessions_90d,
           (sum(page_views) FILTER (WHERE started_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY))::BIGINT AS page_views_90d,
           (sum(clicks) FILTER (WHERE started_at >= getvariable('as_of') + INTERVAL 1 DAY - INTERVAL 90 DAY))::BIGINT AS clicks_90d,
           avg(duration_s) / 60.0 AS avg_visit_minutes,
           count(*) FILTER (WHERE device = 'mobile') AS mobile_sessions,
           count(*) FILTER (WHERE device = 'desktop') AS desktop_sessions,
           count(DISTINCT device) AS device_types
    FROM read_parquet(getvariable('data') || '/sessions.parquet')
    WHERE started_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
c AS (  -- only the 30-day abandoned carts matter
    SELECT customer_id,
           count(*) AS abandoned_carts_recent,
           array_to_string(list_transform(
               list_sort(list({'newest_first': -epoch_us(created_at), 'cart_id': cart_id, 'products': products})),
               x -> x.products), ';') AS abandoned_products
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
sv AS (
    SELECT customer_id,
           max(price_sensitivity) AS price_sensitivity, max(interests) AS interests, max(lifestyle) AS lifestyle,
           max(household_size) AS household_size
    FROM read_parquet(getvariable('data') || '/survey.parquet')
    GROUP BY customer_id
),
cs AS (  -- per channel, the latest consent row counts; no row for a channel: NULL (consent unknown)
    SELECT customer_id,
           arg_max(opted_out, updated_at) FILTER (WHERE channel = 'email') AS email_opted_out,
           arg_max(opted_out, updated_at) FILTER (WHERE channel = 'sms') AS sms_opted_out,
           arg_max(opted_out, updated_at) FILTER (WHERE channel = 'push') AS push_opted_out
    FROM read_parquet(getvariable('data') || '/consent.parquet')
    WHERE updated_at < getvariable('as_of') + INTERVAL 1 DAY
    GROUP BY customer_id
),
f AS (  -- the source features, in segmenter's column order, defaults applied
    SELECT p.customer_id,
           i.top_category,
           coalesce(i.top_category_lines, 0) AS top_category_lines,
           coalesce(i.item_lines, 0) AS item_lines,
           coalesce(c.abandoned_carts_recent, 0) AS abandoned_carts_recent,
           c.abandoned_products,
           cs.email_opted_out,
           cs.sms_opted_out,
           cs.push_opted_out,
           coalesce(s.session_count, 0) AS session_count,
           coalesce(s.sessions_90d, 0) AS sessions_90d,
           coalesce(s.page_views_90d, 0) AS page_views_90d,
           coalesce(s.clicks_90d, 0) AS clicks_90d,
           s.avg_visit_minutes,
           coalesce(e.campaigns_sent_90d, 0) AS campaigns_sent_90d,
           coalesce(e.campaigns_clicked_90d, 0) AS campaigns_clicked_90d,
           p.* EXCLUDE (customer_id),
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
           sv.price_sensitivity, sv.interests, sv.lifestyle, sv.household_size,
           coalesce(s.mobile_sessions, 0) AS mobile_sessions,
           coalesce(s.desktop_sessions, 0) AS desktop_sessions,
           coalesce(s.device_types, 0) AS device_types
    FROM pop p
    LEFT JOIN o USING (customer_id)
    LEFT JOIN s USING (customer_id)
    LEFT JOIN c USING (customer_id)
    LEFT JOIN e USING (customer_id)
    LEFT JOIN hand_top_category i USING (customer_id)
    LEFT JOIN sv USING (customer_id)
    LEFT JOIN cs USING (customer_id)
)
-- derived features (a later one may use an earlier one's alias)
SELECT f.*,
       top_category_lines / nullif(item_lines, 0) AS top_category_share,
       campaigns_clicked_90d / nullif(campaigns_sent_90d, 0) AS response_rate_90d,
       total_spent / nullif(order_count, 0) AS aov,
       CASE WHEN order_count > 0 THEN total_spent END AS buyer_spend,  -- stats over buyers only
       coupon_orders / nullif(order_count, 0) AS coupon_share,
       order_months / order_span_months AS month_coverage,
       order_count > greatest(3, avg_orders.n) AND recency_days <= 365 AS loyal_buyer,
       holiday_spend / nullif(total_spent, 0) AS holiday_share,
       active_span_days / nullif(order_count - 1, 0) AS avg_interval_days,
       mobile_sessions / nullif(session_count, 0) AS mobile_share,
       desktop_sessions / nullif(session_count, 0) AS desktop_share,
       0.3 * least(sessions_90d / 10, 1)
         + 0.2 * least(clicks_90d / 40, 1)
         + 0.2 * coalesce(response_rate_90d, 0)
         + 0.3 * least(orders_90d / 2, 1) AS engagement_score,
       -- days since the last order over the customer's usual interval (the store median for
       -- single-order customers)
       recency_days / greatest(coalesce(avg_interval_days, median_interval.days), 1) AS churn_ratio
FROM f, median_interval, avg_orders;
DROP TABLE hand_top_category;

-- RFM quintiles among buyers: score = 1 + floor(5 * (rank - 1) / n), equal values share a rank
-- (r, f and m are never NULL for a buyer); the first matching label wins.
CREATE OR REPLACE TABLE rfm_scores AS
WITH ranked AS (
    SELECT customer_id, recency_days AS r_value, order_count AS f_value, total_spent AS m_value,
           CAST(1 + 5 * (rank() OVER (ORDER BY recency_days DESC) - 1) // count(*) OVER () AS INTEGER) AS r,
           CAST(1 + 5 * (rank() OVER (ORDER BY order_count) - 1) // count(*) OVER () AS INTEGER) AS f,
           CAST(1 + 5 * (rank() OVER (ORDER BY total_spent) - 1) // count(*) OVER () AS INTEGER) AS m
    FROM customer_features
    WHERE order_count > 0
)
SELECT customer_id, r, f, m, r::VARCHAR || f::VARCHAR || m::VARCHAR AS score,
       CASE WHEN r >= 4 AND f >= 4 AND m >= 4 THEN 'champions'
            WHEN r >= 3 AND f >= 4 THEN 'loyal'
            WHEN r <= 2 AND f >= 4 AND m >= 4 THEN 'cannot_lose'
            WHEN r <= 2 AND f >= 3 THEN 'at_risk'
            WHEN r >= 4 AND f >= 2 THEN 'potential_loyalists'
            WHEN r >= 4 AND f = 1 AND m >= 3 THEN 'promising'
            WHEN r >= 4 AND f = 1 THEN 'new'
            WHEN r = 3 AND f >= 2 THEN 'need_attention'
            WHEN r = 3 AND f = 1 THEN 'about_to_sleep'
            WHEN r = 2 THEN 'hibernating'
            WHEN r = 1 THEN 'lost' END AS label,
       r_value, f_value, m_value
FROM ranked;

-- rfm_club scores the same parts over the same population, so its r, f and m are rfm's; the
-- level comes from their sum (3..15), best first.
CREATE OR REPLACE TABLE rfm_club_scores AS
SELECT customer_id, r, f, m, score,
       CASE WHEN r + f + m >= 13 THEN 'platinum'
            WHEN r + f + m >= 10 THEN 'gold'
            WHEN r + f + m >= 7 THEN 'silver'
            WHEN r + f + m >= 3 THEN 'bronze' END AS label,
       r_value, f_value, m_value
FROM rfm_scores;

-- Rule segments: one boolean column per segment in one pass, unpivoted; then the RFM labels.
-- segment is an ENUM of the segment names in alphabetical order (as segmenter publishes it).
CREATE OR REPLACE TABLE segment_members AS
SELECT customer_id, CAST(segment AS ENUM(
    'active', 'affinity_electronics', 'affinity_fashion', 'affinity_home', 'age_18_24',
    'age_25_34', 'age_35_44', 'age_45_54', 'age_55_64', 'age_65_plus', 'big_spenders',
    'campaign_encourage', 'campaign_retain', 'campaign_win_back', 'cart_abandoners',
    'category_loyal', 'churn_risk_high', 'churn_risk_low', 'churn_risk_medium', 'clv_high',
    'clv_low', 'clv_medium', 'cold_climate', 'country_unknown', 'coupon_lovers', 'desktop_first',
    'education_higher', 'education_secondary', 'email_contactable', 'engagement_high',
    'engagement_low', 'engagement_medium', 'gender_female', 'gender_male', 'hesitant',
    'holiday_shoppers', 'home_market', 'household_large', 'household_single', 'inactive',
    'income_high', 'income_low', 'income_middle', 'interest_fashion_beauty',
    'interest_home_living', 'interest_sports_outdoor', 'international', 'long_visits', 'loyal',
    'luxury_buyers', 'married', 'mobile_first', 'multi_device', 'new_customers',
    'occupation_professional', 'occupation_retired', 'occupation_student', 'one_time_buyers',
    'opted_out_email', 'periodic_buyers', 'price_sensitive', 'registered_no_orders', 'returning',
    'rfm_about_to_sleep', 'rfm_at_risk', 'rfm_cannot_lose', 'rfm_champions', 'rfm_club_bronze',
    'rfm_club_gold', 'rfm_club_platinum', 'rfm_club_silver', 'rfm_hibernating', 'rfm_lost',
    'rfm_loyal', 'rfm_need_attention', 'rfm_new', 'rfm_potential_loyalists', 'rfm_promising',
    'rural', 'single', 'target_cities', 'target_provinces', 'urban', 'warm_climate'
)) AS segment
FROM (
WITH
st AS (  -- population statistics (over all customers, NULLs ignored)
    SELECT avg(session_count) AS avg_sessions,
           quantile_cont(total_spent, 0.5) AS median_spent,
           quantile_cont(buyer_spend, 0.9) AS p90_buyer_spend
    FROM customer_features
),
flags AS (
    SELECT customer_id,
           -- affinity
           coalesce(top_category_share >= 0.5 AND item_lines >= 4, FALSE) AS category_loyal,
           coalesce(top_category = 'electronics' AND top_category_share >= 0.4, FALSE) AS affinity_electronics,
           coalesce(top_category = 'fashion' AND top_category_share >= 0.4, FALSE) AS affinity_fashion,
           coalesce(top_category = 'home' AND top_category_share >= 0.4, FALSE) AS affinity_home,
           -- behaviour
           coalesce(loyal_buyer, FALSE) AS loyal,
           order_count = 1 AS one_time_buyers,
           order_count = 0 AND session_count > 4 AS registered_no_orders,
           coalesce(order_count >= 1 AND coupon_share >= 1.0, FALSE) AS coupon_lovers,
           session_count > avg_sessions AND order_count <= 1 AS hesitant,
           abandoned_carts_recent >= 1 AS cart_abandoners,
           coalesce(order_count >= 4 AND order_span_months >= 3 AND month_coverage >= 0.8 AND recency_days < 45, FALSE) AS periodic_buyers,
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
           -- lifecycle
           coalesce(first_order_days < 30, FALSE) AS new_customers,
           order_count >= 2 AS "returning",
           coalesce(recency_days < 90, FALSE) AS active,
           coalesce(recency_days >= 180, FALSE) AS inactive,
           -- psychographic
           coalesce(interests IN ('sports', 'outdoor'), FALSE) AS interest_sports_outdoor,
           coalesce(interests IN ('fashion', 'beauty'), FALSE) AS interest_fashion_beauty,
           coalesce(interests IN ('home', 'cooking'), FALSE) AS interest_home_living,
           coalesce(price_sensitivity >= 4, FALSE) AS says_price_sensitive,
           -- technographic
           coalesce(mobile_share >= 0.6 AND session_count >= 3, FALSE) AS mobile_first,
           coalesce(desktop_share >= 0.6 AND session_count >= 3, FALSE) AS desktop_first,
           coalesce(device_types >= 2 AND session_count >= 3 AND mobile_share < 0.6 AND desktop_share < 0.6, FALSE) AS multi_device,
           -- value
           total_spent <= 1000 AS clv_low,
           total_spent > 1000 AND total_spent <= 5000 AS clv_medium,
           total_spent > 5000 AS clv_high,
           coalesce(order_count >= 2 AND total_spent >= p90_buyer_spend, FALSE) AS big_spenders,
           coalesce(aov > 700, FALSE) AS luxury_buyers,
           total_spent >= median_spent AS spent_over_median,
           order_count >= 1 AS buyer
    FROM customer_features, st
)
SELECT customer_id, segment
FROM (
    SELECT customer_id,
           category_loyal, affinity_electronics, affinity_fashion, affinity_home,
           loyal, one_time_buyers, registered_no_orders, coupon_lovers, hesitant, cart_abandoners, periodic_buyers,
           -- campaigns: segments built on segments combine the (coalesced) flags; one exclusive
           -- group, retain > win_back > encourage
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
SELECT customer_id, 'rfm_' || label FROM rfm_scores WHERE label IS NOT NULL
UNION ALL
SELECT customer_id, 'rfm_club_' || label FROM rfm_club_scores WHERE label IS NOT NULL
);

-- Ladders: the first matching tier wins (a NULL condition falls through); next_tier is the one
-- above, the gaps what is missing for each of its thresholds. ladder, tier and next_tier are
-- ENUMs of the names in alphabetical order (as segmenter publishes them).
CREATE OR REPLACE TABLE tier_assignments AS
WITH
club AS (
    SELECT customer_id, spend_12m, orders_12m,
           CASE WHEN spend_12m >= 5000 THEN 1
                WHEN orders_12m >= 6 AND spend_12m >= 1500 THEN 2
                WHEN spend_12m >= 500 THEN 3
                ELSE 4 END AS rank
    FROM customer_features
),
loyalty AS (  -- recent windows and tenure: newcomers first 90 days, lapsed/dormant when they left
    SELECT customer_id, spend_12m, orders_12m, tenure_days,
           CASE WHEN spend_12m >= 5000 AND tenure_days >= 365 THEN 1
                WHEN orders_12m >= 6 AND spend_12m >= 1500 AND tenure_days >= 90 THEN 2
                WHEN loyal_buyer AND tenure_days >= 90 THEN 3
                WHEN recency_days < 90 AND tenure_days >= 90 THEN 4
                WHEN tenure_days < 90 THEN 5
                WHEN order_count >= 1 THEN 6
                ELSE 7 END AS rank
    FROM customer_features
)
SELECT customer_id, CAST('club_tier' AS ENUM('club_tier', 'loyalty_level')) AS ladder,
       CAST(['vip', 'gold', 'silver', 'bronze'][rank] AS ENUM('active', 'bronze', 'dormant', 'gold', 'lapsed', 'loyal', 'newcomer', 'silver', 'vip')) AS tier,
       rank,
       CAST(['vip', 'gold', 'silver', 'bronze'][rank - 1] AS ENUM('active', 'bronze', 'dormant', 'gold', 'lapsed', 'loyal', 'newcomer', 'silver', 'vip')) AS next_tier,
       CASE rank WHEN 2 THEN greatest(5000 - spend_12m, 0)
                 WHEN 3 THEN greatest(1500 - spend_12m, 0)
                 WHEN 4 THEN greatest(500 - spend_12m, 0) END AS gap_spend_12m,
       CASE rank WHEN 3 THEN greatest(6 - orders_12m, 0) END AS gap_orders_12m
FROM club
UNION ALL BY NAME
SELECT customer_id, CAST('loyalty_level' AS ENUM('club_tier', 'loyalty_level')) AS ladder,
       CAST(['vip', 'gold', 'loyal', 'active', 'newcomer', 'lapsed', 'dormant'][rank] AS ENUM('active', 'bronze', 'dormant', 'gold', 'lapsed', 'loyal', 'newcomer', 'silver', 'vip')) AS tier,
       rank,
       CAST(['vip', 'gold', 'loyal', 'active', 'newcomer', 'lapsed', 'dormant'][rank - 1] AS ENUM('active', 'bronze', 'dormant', 'gold', 'lapsed', 'loyal', 'newcomer', 'silver', 'vip')) AS next_tier,
       -- gaps to the next level's thresholds: vip (for gold) and gold (for loyal); the `when`
       -- levels above active, newcomer, lapsed and dormant have none
       CASE rank WHEN 2 THEN greatest(5000 - spend_12m, 0)
                 WHEN 3 THEN greatest(1500 - spend_12m, 0) END AS gap_spend_12m,
       CASE rank WHEN 3 THEN greatest(6 - orders_12m, 0) END AS gap_orders_12m,
       CASE rank WHEN 2 THEN greatest(365 - tenure_days, 0)
                 WHEN 3 THEN greatest(90 - tenure_days, 0) END AS gap_tenure_days
FROM loyalty;

-- Catalogs (reduced): every defined segment and tier with its size and share of all customers.
CREATE OR REPLACE TABLE segment_catalog AS
WITH
defs AS (
    SELECT unnest([
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
        'rfm_champions', 'rfm_loyal', 'rfm_cannot_lose', 'rfm_at_risk', 'rfm_potential_loyalists', 'rfm_promising',
        'rfm_new', 'rfm_need_attention', 'rfm_about_to_sleep', 'rfm_hibernating', 'rfm_lost',
        'rfm_club_platinum', 'rfm_club_gold', 'rfm_club_silver', 'rfm_club_bronze']) AS name
),
sizes AS (SELECT segment::VARCHAR AS name, count(*) AS size FROM segment_members GROUP BY segment),
total AS (SELECT count(*) AS n FROM customer_features)
SELECT name, coalesce(size, 0) AS size,
       CASE WHEN n = 0 THEN 0 ELSE round(coalesce(size, 0) / n, 4) END AS share
FROM defs LEFT JOIN sizes USING (name), total;

-- ladder and tier are VARCHAR here, as a full `segmenter run` writes them (a `run --select`
-- rewrites tier_catalog with ENUM columns).
CREATE OR REPLACE TABLE tier_catalog AS
WITH
defs (ladder, tier, rank) AS (
    VALUES ('club_tier', 'vip', 1), ('club_tier', 'gold', 2), ('club_tier', 'silver', 3), ('club_tier', 'bronze', 4),
           ('loyalty_level', 'vip', 1), ('loyalty_level', 'gold', 2), ('loyalty_level', 'loyal', 3),
           ('loyalty_level', 'active', 4), ('loyalty_level', 'newcomer', 5), ('loyalty_level', 'lapsed', 6),
           ('loyalty_level', 'dormant', 7)
),
sizes AS (SELECT ladder, tier, count(*) AS size FROM tier_assignments GROUP BY ladder, tier),
total AS (SELECT count(*) AS n FROM customer_features)
SELECT ladder, tier, rank, coalesce(size, 0) AS size,
       CASE WHEN n = 0 THEN 0 ELSE round(coalesce(size, 0) / n, 4) END AS share
FROM defs LEFT JOIN sizes USING (ladder, tier), total;

-- History: this as_of's rows replace any earlier run's for the same day. Memberships are kept
-- as segment ids (segment_ids holds the names) behind the view segment_members_history.
CREATE TABLE IF NOT EXISTS segment_ids (segment_id INTEGER, segment VARCHAR);
INSERT INTO segment_ids SELECT (SELECT coalesce(max(segment_id), 0) FROM segment_ids) + row_number() OVER (ORDER BY name), name
FROM segment_catalog WHERE name NOT IN (SELECT segment FROM segment_ids);
CREATE TABLE IF NOT EXISTS segment_members_history_ids (as_of DATE, customer_id BIGINT, segment_id INTEGER);
DELETE FROM segment_members_history_ids WHERE as_of = getvariable('as_of');
INSERT INTO segment_members_history_ids
SELECT getvariable('as_of'), customer_id, i.segment_id FROM segment_members JOIN segment_ids AS i ON i.segment = segment_members.segment::VARCHAR;
CREATE OR REPLACE VIEW segment_members_history AS
SELECT as_of, customer_id, segment FROM segment_members_history_ids JOIN segment_ids USING (segment_id);

CREATE TABLE IF NOT EXISTS tier_history (as_of DATE, customer_id BIGINT, ladder VARCHAR, tier VARCHAR, rank INTEGER);
DELETE FROM tier_history WHERE as_of = getvariable('as_of');
INSERT INTO tier_history SELECT getvariable('as_of'), customer_id, ladder, tier, rank FROM tier_assignments;

-- What bench.py compares: memberships plus tiers as '<ladder>/<tier>'.
CREATE OR REPLACE VIEW hand_members AS
SELECT customer_id, segment::VARCHAR AS segment FROM segment_members
UNION ALL
SELECT customer_id, ladder || '/' || tier FROM tier_assignments;

COMMIT;
