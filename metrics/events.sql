-- Canonical events recorded on the counted customers' profiles (and on those merged into them), each once.
SELECT count(*) AS events
FROM scoped_facts AS f
JOIN counted_customers AS c ON c.customer_id = f.customer_id
WHERE f.kind = 'event'
