-- Journey runs that reached their goal on another channel than the one they started from (a web checkout converted
-- in the store), out of every journey run started in the range (whenever it converted); 0 without runs.
SELECT
    CASE
        WHEN count(*) = 0 THEN 0.0
        ELSE round(
            CAST(count(CASE WHEN converted_on <> started_on OR started_on IS NULL THEN converted_on END) AS DOUBLE)
            / count(*),
            4
        )
    END AS cross_channel_conversion_rate
FROM journey_runs
WHERE started_in_scope
