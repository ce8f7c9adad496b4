-- Journey runs that reached their goal on another channel than the one they started from (a web checkout converted
-- in the store), out of every journey run started in the range; 0 without runs.
WITH started AS (
    SELECT journey, execution, channel
    FROM scoped_facts
    WHERE kind = 'run_started'
),

converted AS (
    SELECT journey, execution, channel
    FROM customer_facts
    WHERE kind = 'run_ended' AND outcome = 'goal' AND channel IS NOT NULL
)

SELECT
    CASE
        WHEN count(*) = 0 THEN 0.0
        ELSE round(
            CAST(count(CASE WHEN c.channel <> s.channel OR s.channel IS NULL THEN c.execution END) AS DOUBLE) / count(*), 4
        )
    END AS cross_channel_conversion_rate
FROM started AS s
LEFT JOIN converted AS c ON c.journey = s.journey AND c.execution = s.execution
