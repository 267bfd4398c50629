-- customers: one row per registered customer. Randomness: u(salt) = hash(seed, customer, salt) mapped to [0,1).
WITH base AS (
    SELECT n,
           (hash(getvariable('seed'), n, 'signup') % 1000003) / 1000003.0 AS u_signup,
           (hash(getvariable('seed'), n, 'age') % 1000003) / 1000003.0 AS u_age,
           (hash(getvariable('seed'), n, 'gender') % 1000003) / 1000003.0 AS u_gender,
           hash(getvariable('seed'), n, 'city') % 16 AS city_idx,
           (hash(getvariable('seed'), n, 'urban') % 1000003) / 1000003.0 AS u_urban,
           (hash(getvariable('seed'), n, 'income') % 1000003) / 1000003.0 AS u_income,
           (hash(getvariable('seed'), n, 'education') % 1000003) / 1000003.0 AS u_edu,
           (hash(getvariable('seed'), n, 'marital') % 1000003) / 1000003.0 AS u_marital,
           (hash(getvariable('seed'), n, 'occupation') % 1000003) / 1000003.0 AS u_occ,
           hash(getvariable('seed'), n, 'address') % 100 AS u_address
    FROM range(1, getvariable('customers') + 1) t(n)
),
geo AS (
    SELECT * FROM (VALUES
        (0, 'US', 'New York', 'New York', 'temperate'), (1, 'US', 'California', 'Los Angeles', 'mediterranean'),
        (2, 'US', 'Florida', 'Miami', 'tropical'), (3, 'US', 'Illinois', 'Chicago', 'continental'),
        (4, 'US', 'Texas', 'Houston', 'subtropical'), (5, 'US', 'Arizona', 'Phoenix', 'arid'),
        (6, 'CA', 'Ontario', 'Toronto', 'continental'), (7, 'CA', 'Quebec', 'Montreal', 'continental'),
        (8, 'CA', 'British Columbia', 'Vancouver', 'temperate'), (9, 'CA', 'Alberta', 'Calgary', 'continental'),
        (10, 'GB', 'England', 'London', 'temperate'), (11, 'GB', 'Scotland', 'Edinburgh', 'temperate'),
        (12, 'DE', 'Bavaria', 'Munich', 'continental'), (13, 'DE', 'Berlin', 'Berlin', 'continental'),
        (14, 'ES', 'Andalusia', 'Seville', 'mediterranean'), (15, 'AU', 'Queensland', 'Brisbane', 'subtropical')
    ) g(idx, country, province, city, climate_zone)
)
SELECT
    n AS customer_id,
    'customer' || n || '@example.com' AS email,
    '+1-555-' || lpad(CAST(n % 10000000 AS VARCHAR), 7, '0') AS phone,
    CASE WHEN u_gender < 0.49 THEN 'female' WHEN u_gender < 0.97 THEN 'male' ELSE 'other' END AS gender,
    -- ages 18..80, more young customers than old ones
    CAST(getvariable('as_of') - to_days(CAST(365.25 * (18 + 62 * pow(u_age, 1.4)) AS INTEGER)) AS DATE) AS birth_date,
    -- 2% registered without an address: no country, province or city
    CASE WHEN u_address >= 2 THEN geo.country END AS country,
    CASE WHEN u_address >= 2 THEN geo.province END AS province,
    CASE WHEN u_address >= 2 THEN geo.city END AS city,
    CASE WHEN u_urban < 0.72 THEN 'urban' ELSE 'rural' END AS area_type,
    geo.climate_zone,
    CASE WHEN u_income < 0.30 THEN 'low' WHEN u_income < 0.75 THEN 'middle' WHEN u_income < 0.95 THEN 'high' ELSE 'very_high' END AS income_band,
    CASE WHEN u_edu < 0.35 THEN 'secondary' WHEN u_edu < 0.80 THEN 'bachelor' ELSE 'master_or_higher' END AS education,
    CASE WHEN u_marital < 0.45 THEN 'single' WHEN u_marital < 0.90 THEN 'married' ELSE 'divorced' END AS marital_status,
    -- most customers under 25 study and most over 65 are retired; the others work
    CASE WHEN 18 + 62 * pow(u_age, 1.4) < 25 AND u_occ < 0.6 THEN 'student'
         WHEN 18 + 62 * pow(u_age, 1.4) >= 65 AND u_occ < 0.8 THEN 'retired'
         WHEN u_occ < 0.45 THEN 'employee' WHEN u_occ < 0.65 THEN 'professional' WHEN u_occ < 0.75 THEN 'manager'
         WHEN u_occ < 0.87 THEN 'self_employed' WHEN u_occ < 0.95 THEN 'homemaker' ELSE 'unemployed' END AS occupation,
    -- signups spread over five years, more of them in the earlier years (an established shop)
    CAST(getvariable('as_of') - to_days(CAST(1825 * pow(u_signup, 0.8) AS INTEGER)) AS DATE) AS signup_date
FROM base JOIN geo ON geo.idx = base.city_idx
ORDER BY customer_id
