-- Step 2 of 5: flatten the valid interleaved rankings to one row per shown item.
-- Input {rankings}: the output of rankings.sql. A ranking whose items break the log contract (no
-- id, positions not 1..n in order, a team other than A or B) is dropped whole, never half-used.
WITH items AS (
    SELECT
        r.ranking_id,
        r.user_id,
        r.ts,
        t.idx,
        r.item_ids[t.idx] AS item_id,
        r.positions[t.idx] AS position,
        r.teams[t.idx] AS team,
        r.ranks_a[t.idx] AS rank_a,
        r.ranks_b[t.idx] AS rank_b
    FROM {rankings} AS r
    CROSS JOIN UNNEST(sequence(1, cardinality(r.item_ids))) AS t (idx)
    WHERE r.status = 'ok'
),
checked AS (
    SELECT
        *,
        min(
            CASE
                WHEN item_id IS NOT NULL AND position = idx AND team IN ('A', 'B') THEN 1
                ELSE 0
            END
        ) OVER (PARTITION BY ranking_id) AS items_ok
    FROM items
)
SELECT ranking_id, user_id, ts, item_id, position, team, rank_a, rank_b
FROM checked
WHERE items_ok = 1
