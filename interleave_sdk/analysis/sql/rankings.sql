-- Step 1 of 5: check and deduplicate ranking records (one output row per input record).
-- Input {ranking_log}: event, ranking_id, user_id, ts (ISO 8601 text ending in Z), served, items
-- (array of row(item_id, position, source_ranker, ranks row(a, b))).
-- status: ok | other_event | not_interleaved | invalid | duplicate. Written in the common subset
-- of DuckDB and Trino (Athena engine v3).
WITH parsed AS (
    SELECT
        event,
        ranking_id,
        user_id,
        CASE
            WHEN ts LIKE '____-__-__T%Z'
                THEN TRY_CAST(replace(replace(ts, 'T', ' '), 'Z', '') AS timestamp)
        END AS ts,
        served,
        items
    FROM {ranking_log}
),
checked AS (
    SELECT
        *,
        CASE
            WHEN event IS NOT NULL AND event <> 'ranking' THEN 'other_event'
            WHEN served IS NULL OR served <> 'interleaved' THEN 'not_interleaved'
            WHEN ranking_id IS NULL OR ranking_id = '' OR ts IS NULL OR items IS NULL
                OR cardinality(items) = 0 THEN 'invalid'
            ELSE 'ok'
        END AS checked_status
    FROM parsed
),
numbered AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY checked_status, ranking_id ORDER BY ts, cardinality(items)
        ) AS copy_number
    FROM checked
)
SELECT
    ranking_id,
    user_id,
    ts,
    items,
    CASE
        WHEN checked_status = 'ok' AND copy_number > 1 THEN 'duplicate'
        ELSE checked_status
    END AS status
FROM numbered
