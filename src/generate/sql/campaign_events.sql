-- campaign_events: marketing messages sent, opened and clicked.
WITH rows AS (
    SELECT c.customer_id, c.signup_date, j,
           (hash(getvariable('seed'), c.customer_id, 'engaged') % 100) AS u_engaged,
           (hash(getvariable('seed'), c.customer_id, j, 'eday') % 1000003) / 1000003.0 AS u_day,
           hash(getvariable('seed'), c.customer_id, j, 'camp') % 5 AS camp,
           hash(getvariable('seed'), c.customer_id, j, 'open') % 100 AS u_open,
           hash(getvariable('seed'), c.customer_id, j, 'click') % 100 AS u_click
    FROM gen_customers c, range(CAST(hash(getvariable('seed'), c.customer_id, 'nevents') % 11 AS INTEGER)) r(j)
)
SELECT
    customer_id * 100 + j AS event_id,
    customer_id,
    ['spring_sale', 'summer_newsletter', 'black_friday', 'winback', 'new_arrivals'][1 + CAST(camp AS INTEGER)] AS campaign_id,
    ['email', 'sms', 'push'][1 + CAST(camp % 3 AS INTEGER)] AS channel,
    CAST(getvariable('as_of') - to_days(CAST(u_day * least(365, date_diff('day', signup_date, getvariable('as_of'))) AS INTEGER)) AS TIMESTAMP)
        + to_seconds(hash(getvariable('seed'), customer_id, j, 'esec') % 86400) AS sent_at,
    u_open < CASE WHEN u_engaged < 30 THEN 70 WHEN u_engaged < 80 THEN 25 ELSE 3 END AS opened,
    u_open < CASE WHEN u_engaged < 30 THEN 70 WHEN u_engaged < 80 THEN 25 ELSE 3 END
        AND u_click < 40 AS clicked,
    u_open < CASE WHEN u_engaged < 30 THEN 70 WHEN u_engaged < 80 THEN 25 ELSE 3 END
        AND u_click < 12 AS converted
FROM rows
ORDER BY event_id
