-- Step 1: both legacy routes reach the new function and each serves its own ranker.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) the step began.
-- Expect: exactly the rows A and B, each with wrong_arm = 0, interleaved = 0, fallbacks = 0.
-- wrong_arm > 0 on row B with mode=A: the kill switch overrides the pins (the line keeps the
-- pin, served = A), so the B route is serving ranker A. A row "unpinned" is traffic without a
-- pin: the unified route is already live.
SELECT
    coalesce(pinned, 'unpinned') AS route_pin,
    count(*) AS lines,
    sum(CASE WHEN served <> pinned THEN 1 ELSE 0 END) AS wrong_arm,
    sum(CASE WHEN served = 'interleaved' THEN 1 ELSE 0 END) AS interleaved,
    sum(CASE WHEN fallback_reason IS NOT NULL THEN 1 ELSE 0 END) AS fallbacks
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking'
GROUP BY coalesce(pinned, 'unpinned')
ORDER BY route_pin
