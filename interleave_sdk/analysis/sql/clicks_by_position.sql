-- Step 6 of 6: where positive feedback lands, by position and by the team that drafted the slot
-- (the report's click-share plot). Inputs: {attributed} (the output of attribution.sql) and
-- {exposure_items}. As in credit.sql, each (impression, item) counts once, whatever the rule.
WITH clicked AS (
    SELECT DISTINCT a.ranking_id, a.item_id
    FROM {attributed} AS a
    WHERE a.status IN ('ranking_id', 'window') AND a.polarity > 0
)
SELECT
    x.position,
    x.team AS source_ranker,
    count(*) AS clicks
FROM clicked AS c
INNER JOIN {exposure_items} AS x ON x.ranking_id = c.ranking_id AND x.item_id = c.item_id
GROUP BY x.position, x.team
ORDER BY x.position, x.team
