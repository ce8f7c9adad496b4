-- What the counted customers earned in the range: each placed order's total less its refunds (one currency assumed;
-- test, voided and cancelled orders earn nothing) and each deal won in the shop's currency.
SELECT coalesce(sum(e.revenue), 0) AS revenue
FROM earnings AS e
JOIN counted_customers AS c ON c.customer_id = e.customer_id
CROSS JOIN settings AS s
WHERE (s.range_start IS NULL OR e.earned_at >= s.range_start)
  AND (s.range_end IS NULL OR e.earned_at < s.range_end)
