-- campaign_events: marketing messages sent, opened and clicked, and the customers held out of
-- each campaign to measure it. Per campaign a fixed share of its audience is held out (no
-- message: opened and clicked are false). Everybody converts at a base rate set by how engaged
-- they are; a message adds a planted uplift that depends on the income band only (the library's
-- income_low / income_middle / income_high segments), so the measured lift per segment has a
-- known true value (docs/sample-data.md).
WITH rows AS (
    SELECT c.customer_id, c.signup_date, c.income_band, j,
           (hash(getvariable('seed'), c.customer_id, 'engaged') % 100) AS u_engaged,
           (hash(getvariable('seed'), c.customer_id, j, 'eday') % 1000003) / 1000003.0 AS u_day,
           hash(getvariable('seed'), c.customer_id, j, 'camp') % 5 AS camp,
           hash(getvariable('seed'), c.customer_id, j, 'open') % 100 AS u_open,
           hash(getvariable('seed'), c.customer_id, j, 'click') % 100 AS u_click,
           (hash(getvariable('seed'), c.customer_id, j, 'convert') % 10000) / 100.0 AS u_convert,
           (hash(getvariable('seed'), c.customer_id, j, 'revenue') % 1000003) / 1000003.0 AS u_revenue
    FROM gen_customers c, range(CAST(hash(getvariable('seed'), c.customer_id, 'nevents') % 11 AS INTEGER)) r(j)
),
campaigns AS (
    -- holdout: percent of the audience held out; the same customer is held out of every send of
    -- a campaign
    SELECT * FROM (VALUES
        (0, 'spring_sale', 10), (1, 'summer_newsletter', 0), (2, 'black_friday', 20), (3, 'winback', 15), (4, 'new_arrivals', 10)
    ) t(camp, campaign_id, holdout_percent)
),
planned AS (
    SELECT rows.*, campaigns.campaign_id,
           hash(getvariable('seed'), customer_id, campaigns.campaign_id, 'holdout') % 100 < holdout_percent AS holdout,
           -- conversion in percent without a message, by engagement
           CASE WHEN u_engaged < 30 THEN 6 WHEN u_engaged < 80 THEN 3 ELSE 1 END AS base_percent,
           -- what a message adds, in percentage points, by income band
           CASE income_band WHEN 'low' THEN 0 WHEN 'middle' THEN 4 ELSE 8 END AS uplift_points,
           u_open < CASE WHEN u_engaged < 30 THEN 70 WHEN u_engaged < 80 THEN 25 ELSE 3 END AS would_open
    FROM rows JOIN campaigns USING (camp)
),
sends AS (
    SELECT *, u_convert < base_percent + CASE WHEN holdout THEN 0 ELSE uplift_points END AS converted
    FROM planned
)
SELECT
    customer_id * 100 + j AS event_id,
    customer_id,
    campaign_id,
    ['email', 'sms', 'push'][1 + CAST(camp % 3 AS INTEGER)] AS channel,
    CAST(getvariable('as_of') - to_days(CAST(u_day * least(365, date_diff('day', signup_date, getvariable('as_of'))) AS INTEGER)) AS TIMESTAMP)
        + to_seconds(hash(getvariable('seed'), customer_id, j, 'esec') % 86400) AS sent_at,
    holdout,
    would_open AND NOT holdout AS opened,
    would_open AND NOT holdout AND u_click < 40 AS clicked,
    converted,
    CAST(CASE WHEN converted THEN 15 + round(120 * u_revenue, 2) ELSE 0 END AS DECIMAL(10, 2)) AS revenue
FROM sends
ORDER BY event_id
