-- consent: one row per customer and channel; opted_out = true means the customer must not be contacted there.
SELECT
    c.customer_id,
    ch.channel,
    hash(getvariable('seed'), c.customer_id, ch.channel, 'consent') % 100 < ch.opt_out_pct AS opted_out,
    least(getvariable('as_of'), c.signup_date + to_days(CAST(hash(getvariable('seed'), c.customer_id, ch.channel, 'cday') % 30 AS INTEGER))) AS updated_at
FROM gen_customers c
CROSS JOIN (VALUES ('email', 8), ('sms', 25), ('push', 15)) ch(channel, opt_out_pct)
ORDER BY c.customer_id, ch.channel
