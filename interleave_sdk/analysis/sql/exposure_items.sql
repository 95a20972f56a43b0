-- Step 2 of 6: flatten the valid interleaved rankings to one row per shown item.
-- Input {rankings}: the output of rankings.sql. Its experiment and dt stay there (join on
-- ranking_id): carried into this step's one row per item, they cost DuckDB about a tenth more
-- peak memory (measured), and a dt condition could not prune partitions through this step anyway.
-- A ranking's arms are the keys of its first item's ranks, sorted: data, never names written here,
-- so two arms or twenty, called anything, take this one path. A ranking whose items break the log
-- contract (no id, positions not 1..n in order, a team that is not one of its arms, an item whose
-- ranks name other arms, fewer than two arms) is dropped whole, never half-used.
-- The slot numbers are a column of their own so that UNNEST reads a plain column: DuckDB then
-- flattens in one pass instead of a lateral join that copies every list ten times.
WITH numbered AS (
    SELECT
        ranking_id,
        user_id,
        ts,
        item_ids,
        positions,
        teams,
        ranks,
        array_sort(map_keys(ranks[1])) AS arms,
        method,
        k,
        contest_depth,
        sequence(1, cardinality(item_ids)) AS slot_numbers
    FROM {rankings}
    WHERE status = 'ok'
),
items AS (
    SELECT
        r.ranking_id,
        r.user_id,
        r.ts,
        t.idx,
        r.item_ids[t.idx] AS item_id,
        r.positions[t.idx] AS position,
        r.teams[t.idx] AS team,
        r.ranks[t.idx] AS ranks,
        r.arms,
        r.method,
        r.k,
        r.contest_depth
    FROM numbered AS r
    CROSS JOIN UNNEST(r.slot_numbers) AS t (idx)
),
broken AS (
    SELECT DISTINCT ranking_id
    FROM items
    WHERE NOT coalesce(
        item_id IS NOT NULL AND position = idx AND cardinality(arms) >= 2
            AND contains(arms, team) AND array_sort(map_keys(ranks)) = arms,
        FALSE
    )
)
SELECT
    i.ranking_id, i.user_id, i.ts, i.item_id, i.position, i.team, i.ranks, i.arms, i.method, i.k,
    i.contest_depth
FROM items AS i
LEFT JOIN broken AS b ON b.ranking_id = i.ranking_id
WHERE b.ranking_id IS NULL
