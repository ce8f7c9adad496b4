-- Customer profiles with an event in the range: merged-away ids count as their survivor, customers erased by the
-- range's end are not counted.
SELECT count(*) AS customers
FROM counted_customers
