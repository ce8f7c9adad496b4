-- Each journey's funnel: runs entered (by group: treatment or holdout), each step's messages sent, held by reason
-- and deferred, and how runs ended (goal, exit, holdout, completed, …).
SELECT journey, 'entered' AS stage, CAST(NULL AS VARCHAR) AS step, run_group AS detail, count(*) AS total
FROM scoped_facts
WHERE kind = 'run_started'
GROUP BY journey, run_group

UNION ALL

SELECT
    journey,
    CASE status WHEN 'sent' THEN 'sent' WHEN 'deferred' THEN 'deferred' ELSE 'held' END AS stage,
    step,
    CASE WHEN status = 'sent' THEN NULL ELSE reason END AS detail,
    count(*) AS total
FROM scoped_facts
WHERE kind = 'message'
GROUP BY journey, status, step, CASE WHEN status = 'sent' THEN NULL ELSE reason END

UNION ALL

SELECT journey, 'ended' AS stage, CAST(NULL AS VARCHAR) AS step, outcome AS detail, count(*) AS total
FROM scoped_facts
WHERE kind = 'run_ended'
GROUP BY journey, outcome
