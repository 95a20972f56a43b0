-- Step 3 (and step 4 after each raise): the unified route interleaves a sample of users.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) the last switch change was seen
-- by every container (the write + ttl + jitter, 66 s by default).
-- Expect: one row, at the sampling_rate just written; in_sample_share close to it (users, not
-- lines, are sampled, so heavy users move it); interleaved = in_sample when no arm failed
-- (in_sample_fallbacks counts those that served the baseline, by the reasons in the log).
SELECT
    sampling_rate,
    count(*) AS lines,
    sum(CASE WHEN in_sample THEN 1 ELSE 0 END) AS in_sample,
    sum(CASE WHEN served = 'interleaved' THEN 1 ELSE 0 END) AS interleaved,
    sum(CASE WHEN in_sample AND served <> 'interleaved' THEN 1 ELSE 0 END) AS in_sample_fallbacks,
    round(avg(CASE WHEN in_sample THEN 1.0 ELSE 0.0 END), 4) AS in_sample_share
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking' AND pinned IS NULL AND mode = 'INTERLEAVE'
GROUP BY sampling_rate
ORDER BY sampling_rate
