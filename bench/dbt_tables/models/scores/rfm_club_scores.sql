-- The club level from the RFM quintiles (segments/rfm.yaml, score rfm_club): the same parts as
-- rfm, so the same r, f and m; the first level whose minimum r + f + m is reached wins.
select customer_id, r, f, m, score,
    case
        when r + f + m >= {{ var('rfm_club_platinum', 13) }} then 'platinum'
        when r + f + m >= {{ var('rfm_club_gold', 10) }} then 'gold'
        when r + f + m >= {{ var('rfm_club_silver', 7) }} then 'silver'
        when r + f + m >= 3 then 'bronze'
    end as label,
    r_value, f_value, m_value
from {{ ref('rfm_scores') }}
