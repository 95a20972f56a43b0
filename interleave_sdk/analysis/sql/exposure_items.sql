-- Step 2 of 5: flatten the valid interleaved rankings to one row per shown item.
-- Input {rankings}: the output of rankings.sql. A ranking whose items break the log contract (no
-- id, positions not 1..n in order, a team other than A or B) is dropped whole, never half-used.
WITH items AS (
    SELECT
        r.ranking_id,
        r.user_id,
        r.ts,
        t.idx,
        CAST(r.items[t.idx].item_id AS varchar) AS item_id,
        r.items[t.idx].position AS position,
        r.items[t.idx].source_ranker AS team,
        r.items[t.idx].ranks.a AS rank_a,
        r.items[t.idx].ranks.b AS rank_b
    FROM {rankings} AS r
    CROSS JOIN UNNEST(sequence(1, cardinality(r.items))) AS t (idx)
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
