-- Step 3 of 6: one row per interleaved impression, with the facts every credit rule needs.
-- Input {exposure_items}: the output of exposure_items.sql.
-- prefix_len: length of the common top prefix, the positions p where both arms ranked the shown
-- item at p, for every position up to p. Identical lists have prefix_len = slots.
-- method: the method that produced the list; k: the requested length (the slots when not logged),
-- which caps the ranks that optimized credit reads.
-- contest_depth: the leading positions drafted while both arms had items (credit.py, short arms):
-- as logged, else (lines written before it was logged) derived from a Team Draft list's teams:
-- a pick by the team that already had more picks than the other is one Team Draft makes only
-- after the other ran out; the contest is then the rounds both completed, 2 * the smaller team.
-- That sign shows from the second pick after the end, so only a single trailing pick is missed.
WITH drafted AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY ranking_id, team ORDER BY position) - 1 AS own_before
    FROM {exposure_items}
)
SELECT
    ranking_id,
    max(user_id) AS user_id,
    max(ts) AS ts,
    max(CASE WHEN position = 1 THEN team END) AS first_team,
    count(*) AS slots,
    max(method) AS method,
    coalesce(max(k), count(*)) AS k,
    coalesce(
        min(
            CASE
                WHEN NOT coalesce(rank_a = position AND rank_b = position, FALSE) THEN position
            END
        ) - 1,
        count(*)
    ) AS prefix_len,
    coalesce(
        max(contest_depth),
        CASE
            WHEN max(method) = 'team_draft_v1'
                AND max(CASE WHEN 2 * own_before > position - 1 THEN 1 ELSE 0 END) = 1
                THEN 2 * least(
                    sum(CASE WHEN team = 'A' THEN 1 ELSE 0 END),
                    sum(CASE WHEN team = 'B' THEN 1 ELSE 0 END)
                )
        END,
        count(*)
    ) AS contest_depth
FROM drafted
GROUP BY ranking_id
