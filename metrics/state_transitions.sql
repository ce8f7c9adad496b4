-- States entered by the journey runs' executions that ended in the range: what Step Functions Standard bills, at
-- $0.025 per 1,000.
SELECT
    coalesce(sum(transitions), 0) AS state_transitions,
    coalesce(sum(transitions), 0) * 0.025 / 1000 AS cost_usd
FROM scoped_facts
WHERE kind = 'run_ended'
