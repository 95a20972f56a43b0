-- Step 1 of 6: check and deduplicate ranking records (one output row per input record).
-- Input {ranking_log}: event, ranking_id, user_id, ts (ISO 8601 text ending in Z), served, and the
-- items as parallel arrays: item_ids, positions, teams (source_ranker), ranks_a, ranks_b, plus
-- method and k (text; what optimized credit reads, see rank_credit.py). Each
-- engine's reader builds this shape (engine.py for DuckDB, a view in athena_ddl.sql for Athena).
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
        item_ids,
        positions,
        teams,
        ranks_a,
        ranks_b,
        method,
        CASE WHEN regexp_like(k, '^[0-9]{1,9}$') THEN TRY_CAST(k AS integer) END AS k
    FROM {ranking_log}
),
checked AS (
    SELECT
        *,
        CASE
            WHEN event IS NOT NULL AND event <> 'ranking' THEN 'other_event'
            WHEN served IS NULL OR served <> 'interleaved' THEN 'not_interleaved'
            WHEN ranking_id IS NULL OR ranking_id = '' OR ts IS NULL OR item_ids IS NULL
                OR cardinality(item_ids) = 0 THEN 'invalid'
            ELSE 'ok'
        END AS checked_status
    FROM parsed
),
numbered AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY checked_status, ranking_id ORDER BY ts, cardinality(item_ids)
        ) AS copy_number
    FROM checked
)
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
    CASE
        WHEN checked_status = 'ok' AND copy_number > 1 THEN 'duplicate'
        ELSE checked_status
    END AS status
FROM numbered
