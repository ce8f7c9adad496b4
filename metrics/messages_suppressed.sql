-- Ledger entries a guard held for good, whatever the reason.
SELECT coalesce(sum(messages), 0) AS messages_suppressed
FROM suppressed_by_reason
