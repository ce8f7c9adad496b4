-- Lifetime value by lifecycle stage: each counted customer in the first stage of config/lifecycle.yaml whose every
-- condition they meet at the scorecard's end (the end of its range, else the time of the latest fact), by the rules
-- the profile applies. The runner passes the stages, in order, as `lifecycle_stages` (a condition a stage leaves out
-- is NULL); they read the customer's kept orders, the latest of them, and whether the profile has an email or a phone.
WITH scorecard_end AS (
    SELECT coalesce(max(s.range_end), (SELECT max(occurred_at) FROM facts)) AS ends_at
    FROM settings AS s
),

-- Up to the range's end (with no end, every fact is before the latest).
kept_orders AS (
    SELECT b.customer_id, count(*) AS orders, max(b.placed_at) AS last_order_at
    FROM order_book AS b
    CROSS JOIN settings AS s
    WHERE b.kept AND (s.range_end IS NULL OR b.placed_at <= s.range_end)
    GROUP BY b.customer_id
),

-- An email or a phone, once given, stays on the profile (and on the survivor of a merge).
reachable AS (
    SELECT customer_id, max(CASE WHEN known THEN 1 ELSE 0 END) = 1 AS known
    FROM customer_facts
    WHERE kind = 'event' AND before_range_end
    GROUP BY customer_id
),

-- Every stage each customer meets, numbered in the order of the file: the first is theirs.
met AS (
    SELECT
        c.customer_id,
        c.revenue,
        l.stage_order,
        l.stage,
        row_number() OVER (PARTITION BY c.customer_id ORDER BY l.stage_order) AS choice
    FROM clv_by_customer AS c
    CROSS JOIN scorecard_end AS e
    LEFT JOIN kept_orders AS o ON o.customer_id = c.customer_id
    LEFT JOIN reachable AS r ON r.customer_id = c.customer_id
    JOIN lifecycle_stages AS l
        ON (l.min_orders IS NULL OR coalesce(o.orders, 0) >= l.min_orders)
        AND (l.max_orders IS NULL OR coalesce(o.orders, 0) <= l.max_orders)
        AND (
            l.days_since_last_order_at_least IS NULL
            OR o.last_order_at <= e.ends_at - l.days_since_last_order_at_least * INTERVAL '1' DAY
        )
        AND (l.known IS NULL OR l.known = coalesce(r.known, FALSE))
)

SELECT
    stage,
    count(*) AS customers,
    sum(revenue) AS revenue,
    round(CAST(sum(revenue) AS DOUBLE) / count(*), 2) AS average
FROM met
WHERE choice = 1
GROUP BY stage_order, stage
ORDER BY stage_order
