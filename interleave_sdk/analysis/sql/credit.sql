-- Step 5 of 6: credit per impression (the outcomes table: one row per interleaved impression).
-- Inputs: {impressions}, {exposure_items}, {attributed} (the output of attribution.sql),
-- {eligible} (the credit rule: a boolean over x, the clicked item, and m, its impression) and
-- {negative_counts} (TRUE or FALSE). Each (impression, item, polarity) counts once, so a double
-- click is one click. clicked: at least one counted event, whether or not the rule credits it.
WITH counted AS (
    SELECT DISTINCT a.ranking_id, a.item_id, a.polarity
    FROM {attributed} AS a
    WHERE a.status IN ('ranking_id', 'window') AND (a.polarity > 0 OR {negative_counts})
),
scored AS (
    SELECT
        c.ranking_id,
        sum(CASE WHEN x.team = 'A' AND ({eligible}) THEN c.polarity ELSE 0 END) AS credit_a,
        sum(CASE WHEN x.team = 'B' AND ({eligible}) THEN c.polarity ELSE 0 END) AS credit_b
    FROM counted AS c
    INNER JOIN {exposure_items} AS x ON x.ranking_id = c.ranking_id AND x.item_id = c.item_id
    INNER JOIN {impressions} AS m ON m.ranking_id = c.ranking_id
    GROUP BY c.ranking_id
)
SELECT
    m.ranking_id,
    m.user_id,
    m.ts,
    CAST(coalesce(s.credit_a, 0) AS double) AS credit_a,
    CAST(coalesce(s.credit_b, 0) AS double) AS credit_b,
    CASE
        WHEN coalesce(s.credit_a, 0) > coalesce(s.credit_b, 0) THEN 'A'
        WHEN coalesce(s.credit_a, 0) < coalesce(s.credit_b, 0) THEN 'B'
        ELSE 'tie'
    END AS outcome,
    s.ranking_id IS NOT NULL AS clicked,
    m.first_team,
    m.slots,
    m.slots - m.prefix_len AS contested_slots
FROM {impressions} AS m
LEFT JOIN scored AS s ON s.ranking_id = m.ranking_id
ORDER BY m.ts, m.ranking_id
