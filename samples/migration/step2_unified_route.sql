-- Step 2: the unified route is live and, with sampling_rate = 0, serves ranker A to everybody.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) the step began.
-- Expect: lines > 0 and served_a = lines (so interleaved = 0 and fallbacks = 0).
SELECT
    count(*) AS lines,
    sum(CASE WHEN served = 'A' THEN 1 ELSE 0 END) AS served_a,
    sum(CASE WHEN served = 'interleaved' THEN 1 ELSE 0 END) AS interleaved,
    sum(CASE WHEN fallback_reason IS NOT NULL THEN 1 ELSE 0 END) AS fallbacks
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking' AND pinned IS NULL
