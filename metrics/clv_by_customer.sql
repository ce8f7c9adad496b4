-- Each counted customer's lifetime value to date (their orders placed in the range and their deals won in it in the
-- shop's currency) and their first channel: the channel of the first event recorded on their profile, whenever it
-- was.
WITH first_events AS (
    SELECT
        customer_id,
        channel,
        row_number() OVER (PARTITION BY customer_id ORDER BY occurred_at, fact_id) AS position
    FROM customer_facts
    WHERE kind = 'event'
),

-- Their customers are joined below: naming counted customers here would read them a second time.
earned AS (
    SELECT e.customer_id, sum(e.revenue) AS revenue
    FROM earnings AS e
    CROSS JOIN settings AS s
    WHERE (s.range_start IS NULL OR e.earned_at >= s.range_start)
      AND (s.range_end IS NULL OR e.earned_at < s.range_end)
    GROUP BY e.customer_id
)

SELECT
    c.customer_id,
    coalesce(e.revenue, 0) AS revenue,
    f.channel AS first_channel
FROM counted_customers AS c
LEFT JOIN earned AS e ON e.customer_id = c.customer_id
LEFT JOIN first_events AS f ON f.customer_id = c.customer_id AND f.position = 1
ORDER BY c.customer_id
