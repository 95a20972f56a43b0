-- Step 5: API Gateway no longer splits traffic; every request reaches the function unpinned.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) the routes were removed.
-- Expect: lines > 0 and pinned_lines = 0.
SELECT
    count(*) AS lines,
    sum(CASE WHEN pinned IS NOT NULL THEN 1 ELSE 0 END) AS pinned_lines,
    sum(CASE WHEN served = 'interleaved' THEN 1 ELSE 0 END) AS interleaved,
    sum(CASE WHEN fallback_reason IS NOT NULL THEN 1 ELSE 0 END) AS fallbacks
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking'
