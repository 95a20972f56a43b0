-- Step 4: which routes still carry traffic, before the B route is retired.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) from which to count.
-- Expect: no row B (no client calls /b/recommend any more) before deleting that route; the
-- unified row's interleaved / lines close to the raised sampling_rate.
SELECT
    coalesce(pinned, 'unified') AS route,
    count(*) AS lines,
    count(DISTINCT user_id) AS users,
    sum(CASE WHEN served = 'interleaved' THEN 1 ELSE 0 END) AS interleaved
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking'
GROUP BY coalesce(pinned, 'unified')
ORDER BY route
