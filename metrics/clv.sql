-- Customer lifetime value to date: revenue ÷ customers, to the cent; 0 without customers.
SELECT
    CASE
        WHEN count(*) = 0 THEN 0.0
        ELSE round(CAST(sum(revenue) AS DOUBLE) / count(*), 2)
    END AS average
FROM clv_by_customer
