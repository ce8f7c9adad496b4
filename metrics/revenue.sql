-- What the counted customers earned in the range: each placed order's total less its refunds (one currency assumed;
-- test, voided and cancelled orders earn nothing) and each deal won in the shop's currency.
SELECT coalesce(sum(revenue), 0) AS revenue
FROM counted_earnings
