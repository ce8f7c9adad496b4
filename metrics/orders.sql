-- Orders of the counted customers, each order id once, from every channel, whatever their state.
SELECT count(*) AS orders
FROM counted_orders
