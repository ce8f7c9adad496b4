-- Ledger entries whose outcome is `sent`, on every channel, notes for the store and call center included.
SELECT count(*) AS messages_sent
FROM scoped_facts
WHERE kind = 'message' AND status = 'sent'
