-- Step 5 of 6: credit per impression and pair of its arms (the outcomes table: one row per
-- interleaved impression and pair of the arms it showed, arm_a < arm_b by name; a two-arm
-- impression has one row). Inputs: {impressions}, {exposure_items}, {attributed} (the output of
-- attribution.sql), {eligible} (the credit rule: a boolean over x, the clicked item, and m, its
-- impression; the competitive rule reads m.prefix_len and m.contest_depth, so that items drafted
-- after an arm ran out credit no arm), {rank_delta} (the credit of arm c.arm against the other
-- arm of a two-arm list, from the clicked item's ranks, for methods credited by rank such as
-- optimized_v1, 0 past the impression's contest_depth; NULL for the others, which the rule
-- credits) and {negative_counts} (TRUE or FALSE). Each (impression, item, polarity) counts once,
-- so a double click is one click.
-- credit_a / credit_b: arm_a's and arm_b's credit; outcome and first_team name the pair's roles
-- ('A' is arm_a, 'B' is arm_b; first_team 'other' when a third arm drafted the first slot).
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
        x.ranks,
        x.position,
        m.arms,
        m.contest_depth,
        m.method,
        m.k,
        coalesce({eligible}, FALSE) AS eligible
    FROM counted AS c
    INNER JOIN {exposure_items} AS x ON x.ranking_id = c.ranking_id AND x.item_id = c.item_id
    INNER JOIN {impressions} AS m ON m.ranking_id = c.ranking_id
),
per_arm AS (
    SELECT
        c.ranking_id,
        t.arm,
        c.polarity,
        c.team = t.arm AND c.eligible AS earns,
        CASE WHEN cardinality(c.arms) = 2 THEN {rank_delta} END AS delta
    FROM clicked AS c
    CROSS JOIN UNNEST(c.arms) AS t (arm)
),
scored AS (
    SELECT
        ranking_id,
        arm,
        sum(
            polarity * CASE
                WHEN delta IS NOT NULL THEN greatest(delta, 0e0)
                WHEN earns THEN 1e0
                ELSE 0e0
            END
        ) AS credit
    FROM per_arm
    GROUP BY ranking_id, arm
),
pairs AS (
    SELECT m.ranking_id, m.user_id, m.ts, a.arm_a, b.arm_b, m.first_team, m.slots, m.prefix_len
    FROM {impressions} AS m
    CROSS JOIN UNNEST(m.arms) AS a (arm_a)
    CROSS JOIN UNNEST(m.arms) AS b (arm_b)
    WHERE a.arm_a < b.arm_b
)
SELECT
    p.ranking_id,
    p.user_id,
    p.ts,
    p.arm_a,
    p.arm_b,
    CAST(coalesce(sa.credit, 0) AS double) AS credit_a,
    CAST(coalesce(sb.credit, 0) AS double) AS credit_b,
    CASE
        WHEN coalesce(sa.credit, 0) > coalesce(sb.credit, 0) + 1e-9 THEN 'A'
        WHEN coalesce(sa.credit, 0) + 1e-9 < coalesce(sb.credit, 0) THEN 'B'
        ELSE 'tie'
    END AS outcome,
    sa.ranking_id IS NOT NULL AS clicked,
    CASE
        WHEN p.first_team = p.arm_a THEN 'A'
        WHEN p.first_team = p.arm_b THEN 'B'
        ELSE 'other'
    END AS first_team,
    p.slots,
    p.slots - p.prefix_len AS contested_slots
FROM pairs AS p
LEFT JOIN scored AS sa ON sa.ranking_id = p.ranking_id AND sa.arm = p.arm_a
LEFT JOIN scored AS sb ON sb.ranking_id = p.ranking_id AND sb.arm = p.arm_b
ORDER BY p.ts, p.ranking_id, p.arm_a, p.arm_b
