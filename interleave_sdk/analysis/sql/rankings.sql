-- Step 1 of 6: check and deduplicate ranking records (one output row per input record).
-- Input {ranking_log}: event, ranking_id, experiment, user_id, ts (ISO 8601 text ending in Z),
-- served, schema_version (text), dt (the day partition on Athena, yyyy/MM/dd), and the items
-- as parallel arrays: item_ids, positions, teams (source_ranker), ranks (per item, a map from
-- every arm's name to the item's rank in that arm's list: the arms are data, named by the line),
-- plus method, k and contest_depth (text: what optimized credit and the short-arm rule read, see
-- rank_credit.py and credit.py; contest_depth is absent, NULL, on lines written before it was
-- logged). Each engine's reader
-- builds this shape (engine.py
-- for DuckDB, a view in athena_ddl.sql for Athena).
-- The records analysed are those for which {keep} holds: a condition over the parsed columns
-- (ts is a timestamp there) choosing the experiment, time range and dt partitions, TRUE for all.
-- A record whose ts cannot be read has a NULL ts, so any time condition leaves it out. The
-- condition sits next to the projection, so Athena pushes a dt condition down to the table scan
-- and reads only those partitions.
-- A record whose schema_version names a major version outside {schema_majors} (a quoted list) is
-- 'unknown_schema': its fields may mean something else, so it is refused and counted, never read
-- as a known version. A record without the field is read as version 1 (every SDK writes it).
WITH parsed AS (
    SELECT
        event,
        ranking_id,
        experiment,
        user_id,
        CASE
            WHEN ts LIKE '____-__-__T%Z'
                THEN TRY_CAST(replace(replace(ts, 'T', ' '), 'Z', '') AS timestamp)
        END AS ts,
        served,
        schema_version,
        dt,
        item_ids,
        positions,
        teams,
        ranks,
        method,
        CASE WHEN regexp_like(k, '^[0-9]{1,9}$') THEN TRY_CAST(k AS integer) END AS k,
        CASE
            WHEN regexp_like(contest_depth, '^[0-9]{1,9}$') THEN TRY_CAST(contest_depth AS integer)
        END AS contest_depth
    FROM {ranking_log}
),
kept AS (
    SELECT * FROM parsed WHERE {keep}
),
checked AS (
    SELECT
        *,
        CASE
            WHEN schema_version IS NOT NULL
                AND split_part(schema_version, '.', 1) NOT IN ({schema_majors}) THEN 'unknown_schema'
            WHEN event IS NOT NULL AND event <> 'ranking' THEN 'other_event'
            WHEN served IS NULL OR served <> 'interleaved' THEN 'not_interleaved'
            WHEN ranking_id IS NULL OR ranking_id = '' OR ts IS NULL OR item_ids IS NULL
                OR cardinality(item_ids) = 0 THEN 'invalid'
            ELSE 'ok'
        END AS checked_status
    FROM kept
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
    experiment,
    user_id,
    ts,
    dt,
    item_ids,
    positions,
    teams,
    ranks,
    method,
    k,
    contest_depth,
    schema_version,
    CASE
        WHEN checked_status = 'ok' AND copy_number > 1 THEN 'duplicate'
        ELSE checked_status
    END AS status
FROM numbered
