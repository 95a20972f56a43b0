-- Step 2 of 6: flatten the valid interleaved rankings to one row per shown item.
-- Input {rankings}: the output of rankings.sql. Its experiment and dt stay there (join on
-- ranking_id): carried into this step's one row per item, they cost DuckDB about a tenth more
-- peak memory (measured), and a dt condition could not prune partitions through this step anyway. A ranking whose items break the log contract (no
-- id, positions not 1..n in order, a team other than A or B) is dropped whole, never half-used.
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
        ranks_a,
        ranks_b,
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
        r.ranks_a[t.idx] AS rank_a,
        r.ranks_b[t.idx] AS rank_b,
        r.method,
        r.k,
        r.contest_depth
    FROM numbered AS r
    CROSS JOIN UNNEST(r.slot_numbers) AS t (idx)
),
broken AS (
    SELECT DISTINCT ranking_id
    FROM items
    WHERE NOT coalesce(item_id IS NOT NULL AND position = idx AND team IN ('A', 'B'), FALSE)
)
SELECT
    i.ranking_id, i.user_id, i.ts, i.item_id, i.position, i.team, i.rank_a, i.rank_b, i.method, i.k,
    i.contest_depth
FROM items AS i
LEFT JOIN broken AS b ON b.ranking_id = i.ranking_id
WHERE b.ranking_id IS NULL
