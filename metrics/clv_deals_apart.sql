-- Won deals that are no revenue, reported apart: won in the range by a counted customer in another currency than
-- the shop's (a deal naming none is in the CRM's company currency, `crm_currency`): by currency, how many and their
-- sum.
SELECT
    d.currency,
    count(*) AS deals,
    sum(d.amount) AS amount
FROM deal_book AS d
JOIN counted_customers AS c ON c.customer_id = d.customer_id
CROSS JOIN settings AS s
WHERE NOT d.in_shop_currency
  AND (s.range_start IS NULL OR d.won_at >= s.range_start)
  AND (s.range_end IS NULL OR d.won_at < s.range_end)
GROUP BY d.currency
ORDER BY d.currency
