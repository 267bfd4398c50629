-- survey: psychographic answers from the 40% of customers who filled in the profile survey.
SELECT
    customer_id,
    ['sports', 'fashion', 'technology', 'home', 'beauty', 'outdoor', 'cooking', 'travel'][1 + CAST(hash(getvariable('seed'), customer_id, 'interest') % 8 AS INTEGER)] AS interests,
    -- 1 (never looks at prices) .. 5 (buys only on discount)
    CAST(1 + hash(getvariable('seed'), customer_id, 'price') % 5 AS INTEGER) AS price_sensitivity,
    ['active', 'family', 'urban_professional', 'student', 'retired'][1 + CAST(hash(getvariable('seed'), customer_id, 'life') % 5 AS INTEGER)] AS lifestyle,
    CAST(1 + hash(getvariable('seed'), customer_id, 'household') % 5 AS INTEGER) AS household_size
FROM gen_customers
WHERE hash(getvariable('seed'), customer_id, 'answered') % 100 < 40
ORDER BY customer_id
