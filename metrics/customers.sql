-- Live customer profiles with something recorded in the range (merged-away and erased profiles are not counted).
SELECT count(*) AS customers
FROM counted_customers
