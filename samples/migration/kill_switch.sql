-- Rollback at any step: mode = A (the kill switch) is in force everywhere.
-- Parameters: the UTC day (yyyy/MM/dd) and the time (ISO, ...Z) the write was seen by every
-- container (the write + ttl + jitter, 66 s by default).
-- Expect: the single row mode = A, served = A, on every route (the kill switch wins over pins;
-- a container that cannot read SSM logs mode A too, as it serves ranker A).
SELECT
    mode,
    served,
    count(*) AS lines
FROM ranking_ops
WHERE dt >= ? AND ts >= ? AND event = 'ranking'
GROUP BY mode, served
ORDER BY mode, served
