-- Each journey's funnel: runs entered (by group: treatment or holdout), each step's messages sent, held by reason
-- and deferred, and how runs ended (goal, exit, holdout, completed, …). One pass over the three kinds.
SELECT journey, stage, step, detail, count(*) AS total
FROM (
    SELECT
        journey,
        CASE kind
            WHEN 'run_started' THEN 'entered'
            WHEN 'run_ended' THEN 'ended'
            WHEN 'message' THEN CASE status WHEN 'sent' THEN 'sent' WHEN 'deferred' THEN 'deferred' ELSE 'held' END
        END AS stage,
        CASE WHEN kind = 'message' THEN step END AS step,
        CASE kind
            WHEN 'run_started' THEN run_group
            WHEN 'run_ended' THEN outcome
            WHEN 'message' THEN CASE WHEN status = 'sent' THEN NULL ELSE reason END
        END AS detail
    FROM scoped_facts
    WHERE kind IN ('run_started', 'message', 'run_ended')
) AS counted
GROUP BY journey, stage, step, detail
