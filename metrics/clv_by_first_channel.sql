-- Lifetime value by the channel customers first came from: how many, their revenue, its average to the cent.
SELECT
    first_channel,
    count(*) AS customers,
    sum(revenue) AS revenue,
    round(CAST(sum(revenue) AS DOUBLE) / count(*), 2) AS average
FROM clv_by_customer
GROUP BY first_channel
ORDER BY first_channel
