-- What those orders earned (one currency assumed): each placed order's total less its refunds; test, voided and
-- cancelled orders earn nothing.
SELECT coalesce(sum(revenue), 0) AS revenue
FROM counted_orders
