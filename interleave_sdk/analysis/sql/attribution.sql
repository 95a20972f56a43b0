-- Step 4 of 6: attribute each distinct feedback event to at most one impression.
-- Inputs: {feedback} (user_id, item_id, ts UTC timestamp, kind, ranking_id), {exposure_items},
-- {impressions}, {kinds} (a VALUES list of (kind, polarity): +1 positive, -1 negative) and
-- {window_seconds} (whole seconds). Exact duplicate events collapse into one row (copies > 1).
-- An event with a ranking_id joins that impression only, if it came at most window_seconds
-- after it (later: after_window, so an impression's credit is final once its window has
-- closed, which the sequential test relies on); without one, it joins the latest exposure of
-- the same (user, item) at most window_seconds before it (both ends inclusive).
-- status: ranking_id | window (matched) | unknown_ranking_id | item_not_in_ranking |
-- before_exposure | after_window | no_exposure_in_window | ignored_kind | invalid_event.
WITH events AS (
    SELECT
        f.user_id,
        f.item_id,
        f.ts,
        f.kind,
        f.ranking_id AS event_ranking_id,
        k.polarity,
        count(*) AS copies
    FROM {feedback} AS f
    LEFT JOIN {kinds} AS k (kind, polarity) ON f.kind = k.kind
    GROUP BY f.user_id, f.item_id, f.ts, f.kind, f.ranking_id, k.polarity
),
by_id AS (
    SELECT
        e.*,
        CASE
            WHEN m.ranking_id IS NULL THEN 'unknown_ranking_id'
            WHEN x.ranking_id IS NULL THEN 'item_not_in_ranking'
            WHEN e.ts < x.ts THEN 'before_exposure'
            WHEN e.ts > x.ts + INTERVAL '{window_seconds}' SECOND THEN 'after_window'
            ELSE 'ranking_id'
        END AS status,
        CASE
            WHEN x.ts <= e.ts AND e.ts <= x.ts + INTERVAL '{window_seconds}' SECOND
                THEN x.ranking_id
        END AS ranking_id
    FROM events AS e
    LEFT JOIN {impressions} AS m ON m.ranking_id = e.event_ranking_id
    LEFT JOIN {exposure_items} AS x
        ON x.ranking_id = e.event_ranking_id AND x.item_id = e.item_id
    WHERE e.polarity IS NOT NULL AND e.item_id IS NOT NULL AND e.ts IS NOT NULL
        AND e.event_ranking_id IS NOT NULL
),
candidates AS (
    SELECT
        e.user_id,
        e.item_id,
        e.ts,
        e.kind,
        x.ranking_id,
        row_number() OVER (
            PARTITION BY e.user_id, e.item_id, e.ts, e.kind
            ORDER BY x.ts DESC, x.ranking_id DESC
        ) AS recency
    FROM events AS e
    INNER JOIN {exposure_items} AS x
        ON x.user_id = e.user_id AND x.item_id = e.item_id
        AND x.ts <= e.ts AND x.ts >= e.ts - INTERVAL '{window_seconds}' SECOND
    WHERE e.polarity IS NOT NULL AND e.ts IS NOT NULL AND e.event_ranking_id IS NULL
),
by_window AS (
    SELECT
        e.*,
        CASE WHEN c.ranking_id IS NULL THEN 'no_exposure_in_window' ELSE 'window' END AS status,
        c.ranking_id
    FROM events AS e
    LEFT JOIN candidates AS c
        ON c.recency = 1 AND c.user_id = e.user_id AND c.item_id = e.item_id
        AND c.ts = e.ts AND c.kind = e.kind
    WHERE e.polarity IS NOT NULL AND e.item_id IS NOT NULL AND e.ts IS NOT NULL
        AND e.event_ranking_id IS NULL
),
rejected AS (
    SELECT
        e.*,
        CASE WHEN e.polarity IS NULL THEN 'ignored_kind' ELSE 'invalid_event' END AS status,
        CAST(NULL AS varchar) AS ranking_id
    FROM events AS e
    WHERE e.polarity IS NULL OR e.item_id IS NULL OR e.ts IS NULL
)
SELECT * FROM by_id
UNION ALL
SELECT * FROM by_window
UNION ALL
SELECT * FROM rejected
