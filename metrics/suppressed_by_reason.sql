-- Ledger entries a guard held for good, by reason; a deferral is not counted (its message is, once finally sent or
-- suppressed).
SELECT reason, count(*) AS messages
FROM scoped_facts
WHERE kind = 'message' AND status NOT IN ('sent', 'deferred')
GROUP BY reason
ORDER BY reason
