-- Step 3 of 6: one row per interleaved impression, with the facts every credit rule needs.
-- Input {exposure_items}: the output of exposure_items.sql.
-- arms: the arms the impression compared (sorted names). prefix_len: length of the common top
-- prefix, the positions p where every arm ranked the shown item at p, for every position up to p
-- (an item's ranks less its position leave nothing; a NULL rank stays). Identical lists have
-- prefix_len = slots. method: the method that produced the list; k: the requested length (the
-- slots when not logged), which caps the ranks that optimized credit reads.
-- contest_depth: the leading positions drafted while every arm had items (credit.py, short arms):
-- as logged, else (lines written before it was logged) derived from a Team Draft list's teams.
-- With n arms, a pick by a team that already had more than (position - 1) / n picks is one Team
-- Draft makes only after another arm ran out; the contest is then the rounds every arm completed,
-- n * the fewest picks of any arm. That sign shows from the second pick after the end, so only a
-- single trailing pick is missed.
WITH drafted AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY ranking_id, team ORDER BY position) - 1 AS own_before,
        count(*) OVER (PARTITION BY ranking_id, team) AS team_picks
    FROM {exposure_items}
)
SELECT
    d.ranking_id,
    max(d.user_id) AS user_id,
    max(d.ts) AS ts,
    max(d.arms) AS arms,
    max(CASE WHEN d.position = 1 THEN d.team END) AS first_team,
    count(*) AS slots,
    max(d.method) AS method,
    coalesce(max(d.k), count(*)) AS k,
    coalesce(
        min(
            CASE WHEN cardinality(array_remove(map_values(d.ranks), d.position)) > 0 THEN d.position END
        ) - 1,
        count(*)
    ) AS prefix_len,
    coalesce(
        max(d.contest_depth),
        CASE
            WHEN max(d.method) = 'team_draft_v1'
                AND max(
                    CASE WHEN cardinality(d.arms) * d.own_before > d.position - 1 THEN 1 ELSE 0 END
                ) = 1
                THEN CASE
                    WHEN count(DISTINCT d.team) < max(cardinality(d.arms)) THEN 0
                    ELSE max(cardinality(d.arms)) * min(d.team_picks)
                END
        END,
        count(*)
    ) AS contest_depth
FROM drafted AS d
GROUP BY d.ranking_id
