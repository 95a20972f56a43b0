-- Step 5 of 6: credit per impression (the outcomes table: one row per interleaved impression).
-- Inputs: {impressions}, {exposure_items}, {attributed} (the output of attribution.sql),
-- {eligible} (the credit rule: a boolean over x, the clicked item, and m, its impression; the
-- competitive rule reads m.prefix_len and m.contest_depth),
-- {rank_delta} (A's credit from the item's ranks for methods credited by rank, such as
-- optimized_v1; NULL for the others, which the rule credits) and {negative_counts} (TRUE or
-- FALSE). Each (impression, item, polarity) counts once, so a double click is one click.
-- clicked: at least one counted event, whether or not it earns credit. Credits within 1e-9 tie
-- (rank_credit.TIE_TOLERANCE: inverse-rank credits are sums of floats).
WITH counted AS (
    SELECT DISTINCT a.ranking_id, a.item_id, a.polarity
    FROM {attributed} AS a
    WHERE a.status IN ('ranking_id', 'window') AND (a.polarity > 0 OR {negative_counts})
),
clicked AS (
    SELECT
        c.ranking_id,
        c.polarity,
        x.team,
        coalesce({eligible}, FALSE) AS eligible,
        {rank_delta} AS delta
    FROM counted AS c
    INNER JOIN {exposure_items} AS x ON x.ranking_id = c.ranking_id AND x.item_id = c.item_id
    INNER JOIN {impressions} AS m ON m.ranking_id = c.ranking_id
),
scored AS (
    SELECT
        ranking_id,
        sum(
            polarity * CASE
                WHEN delta IS NOT NULL THEN greatest(delta, 0e0)
                WHEN team = 'A' AND eligible THEN 1e0
                ELSE 0e0
            END
        ) AS credit_a,
        sum(
            polarity * CASE
                WHEN delta IS NOT NULL THEN greatest(-delta, 0e0)
                WHEN team = 'B' AND eligible THEN 1e0
                ELSE 0e0
            END
        ) AS credit_b
    FROM clicked
    GROUP BY ranking_id
)
SELECT
    m.ranking_id,
    m.user_id,
    m.ts,
    CAST(coalesce(s.credit_a, 0) AS double) AS credit_a,
    CAST(coalesce(s.credit_b, 0) AS double) AS credit_b,
    CASE
        WHEN coalesce(s.credit_a, 0) > coalesce(s.credit_b, 0) + 1e-9 THEN 'A'
        WHEN coalesce(s.credit_a, 0) + 1e-9 < coalesce(s.credit_b, 0) THEN 'B'
        ELSE 'tie'
    END AS outcome,
    s.ranking_id IS NOT NULL AS clicked,
    m.first_team,
    m.slots,
    m.slots - m.prefix_len AS contested_slots
FROM {impressions} AS m
LEFT JOIN scored AS s ON s.ranking_id = m.ranking_id
ORDER BY m.ts, m.ranking_id
