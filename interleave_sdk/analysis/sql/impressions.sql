-- Step 3 of 6: one row per interleaved impression, with the facts every credit rule needs.
-- Input {exposure_items}: the output of exposure_items.sql.
-- arms: the arms the impression compared (sorted names). prefix_len: length of the common top
-- prefix, the positions p where every arm ranked the shown item at p, for every position up to p
-- (an item's ranks less its position leave nothing; a NULL rank stays). Identical lists have
-- prefix_len = slots. method: the method that produced the list; k: the requested length (the
-- slots when not logged), which caps the ranks that optimized credit reads.
SELECT
    ranking_id,
    max(user_id) AS user_id,
    max(ts) AS ts,
    max(arms) AS arms,
    max(CASE WHEN position = 1 THEN team END) AS first_team,
    count(*) AS slots,
    max(method) AS method,
    coalesce(max(k), count(*)) AS k,
    coalesce(
        min(
            CASE WHEN cardinality(array_remove(map_values(ranks), position)) > 0 THEN position END
        ) - 1,
        count(*)
    ) AS prefix_len
FROM {exposure_items}
GROUP BY ranking_id
