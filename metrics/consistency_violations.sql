-- The consistency audit (docs/metrics.md): every sent message re-checked against what the customer's record says
-- happened before it, one row per (message, rule) broken. Messages sent in the range are audited against the whole
-- record; a guard bug shows up here, not in the guards grading themselves.
WITH sent AS (
    SELECT
        fact_id,
        occurred_at,
        customer_id,
        channel,
        category,
        journey,
        step,
        execution,
        skus,
        offer_code,
        offer_skus,
        timezone,
        row_number() OVER (PARTITION BY customer_id ORDER BY occurred_at, journey, step, fact_id) AS position,
        row_number() OVER (
            PARTITION BY customer_id, journey, step, execution ORDER BY occurred_at, fact_id
        ) AS sending
    FROM customer_facts
    WHERE kind = 'message' AND status = 'sent'
),

audited AS (
    SELECT sent.*
    FROM sent
    JOIN scoped_facts AS f ON f.fact_id = sent.fact_id
),

marketing AS (
    SELECT * FROM audited WHERE category = 'marketing'
),

-- The products a message names: those it promotes and those of the offer it shows.
named AS (
    SELECT m.fact_id, p.sku FROM marketing AS m CROSS JOIN UNNEST(m.skus) AS p (sku)
    UNION
    SELECT m.fact_id, o.sku FROM marketing AS m CROSS JOIN UNNEST(m.offer_skus) AS o (sku)
),

bought AS (
    SELECT b.customer_id, b.placed_at, p.sku
    FROM order_book AS b
    CROSS JOIN UNNEST(b.skus) AS p (sku)
    WHERE b.state NOT IN ('test', 'voided')
),

named_a_product_already_bought AS (
    SELECT DISTINCT m.fact_id
    FROM marketing AS m
    JOIN named AS n ON n.fact_id = m.fact_id
    JOIN bought AS b ON b.customer_id = m.customer_id AND b.sku = n.sku AND b.placed_at < m.occurred_at
),

-- The customer's word on the message's channel as it stood when it went out: their latest, withdrawing winning a tie.
latest_consent AS (
    SELECT m.fact_id, max(c.occurred_at) AS given_at
    FROM marketing AS m
    JOIN customer_facts AS c
        ON c.kind = 'consent' AND c.customer_id = m.customer_id AND c.channel = m.channel
        AND c.occurred_at < m.occurred_at
    GROUP BY m.fact_id
),

after_opt_out AS (
    SELECT DISTINCT m.fact_id
    FROM marketing AS m
    JOIN latest_consent AS l ON l.fact_id = m.fact_id
    JOIN customer_facts AS c
        ON c.kind = 'consent' AND c.customer_id = m.customer_id AND c.channel = m.channel
        AND c.occurred_at = l.given_at AND c.status = 'unsubscribed'
),

during_open_ticket AS (
    SELECT m.fact_id
    FROM marketing AS m
    JOIN customer_facts AS t
        ON t.kind = 'event' AND t.customer_id = m.customer_id AND t.occurred_at < m.occurred_at
        AND t.event_type IN ('ticket_opened', 'ticket_solved')
    GROUP BY m.fact_id
    HAVING sum(CASE t.event_type WHEN 'ticket_opened' THEN 1 ELSE -1 END) > 0
),

-- Minutes past midnight in the customer's timezone when it went out.
local_minutes AS (
    SELECT
        m.fact_id,
        hour(m.occurred_at AT TIME ZONE coalesce(m.timezone, s.default_timezone)) * 60
        + minute(m.occurred_at AT TIME ZONE coalesce(m.timezone, s.default_timezone)) AS minute_of_day
    FROM marketing AS m
    CROSS JOIN settings AS s
    WHERE m.channel IN (SELECT channel FROM quiet_channels)
),

in_quiet_hours AS (
    SELECT l.fact_id
    FROM local_minutes AS l
    CROSS JOIN settings AS s
    WHERE CASE
        WHEN s.quiet_start_minute > s.quiet_end_minute
            THEN l.minute_of_day >= s.quiet_start_minute OR l.minute_of_day < s.quiet_end_minute
        ELSE l.minute_of_day >= s.quiet_start_minute AND l.minute_of_day < s.quiet_end_minute
    END
),

sent_after_erasure AS (
    SELECT a.fact_id
    FROM audited AS a
    JOIN erasures AS e ON e.customer_id = a.customer_id AND a.occurred_at >= e.erased_at
),

offer_on_uncovered_product AS (
    SELECT a.fact_id
    FROM audited AS a
    WHERE a.offer_code IS NOT NULL
      AND NOT EXISTS (
          SELECT 1
          FROM UNNEST(a.offer_skus) AS o (sku)
          CROSS JOIN UNNEST(a.skus) AS p (sku)
          WHERE o.sku = p.sku
      )
),

-- When each code stopped being live: when it expired or an order redeemed it, whichever came first.
offer_closed AS (
    SELECT offer_code, min(closed_at) AS closed_at
    FROM (
        SELECT offer_code, expires_at AS closed_at FROM customer_facts WHERE kind = 'offer_issued'
        UNION ALL
        SELECT offer_code, occurred_at AS closed_at FROM customer_facts WHERE kind = 'offer_redeemed'
    ) AS endings
    GROUP BY offer_code
),

shown_products AS (
    SELECT s.fact_id, s.customer_id, s.position, s.occurred_at, s.offer_code, o.sku
    FROM sent AS s
    CROSS JOIN UNNEST(s.offer_skus) AS o (sku)
    WHERE s.offer_code IS NOT NULL
),

-- One per (message, earlier message) showing another code for one of its products while the earlier was live.
offer_disagreement AS (
    SELECT DISTINCT later.fact_id, earlier.fact_id AS earlier_fact_id
    FROM shown_products AS later
    JOIN audited AS a ON a.fact_id = later.fact_id
    JOIN shown_products AS earlier
        ON earlier.customer_id = later.customer_id AND earlier.position < later.position
        AND earlier.sku = later.sku AND earlier.offer_code <> later.offer_code
    LEFT JOIN offer_closed AS c ON c.offer_code = earlier.offer_code
    WHERE c.closed_at IS NULL OR later.occurred_at < c.closed_at
),

broken AS (
    SELECT fact_id, 'named_a_product_already_bought' AS rule FROM named_a_product_already_bought
    UNION ALL
    SELECT fact_id, 'after_opt_out' AS rule FROM after_opt_out
    UNION ALL
    SELECT fact_id, 'during_open_ticket' AS rule FROM during_open_ticket
    UNION ALL
    SELECT fact_id, 'in_quiet_hours' AS rule FROM in_quiet_hours
    UNION ALL
    SELECT fact_id, 'sent_twice' AS rule FROM audited WHERE sending > 1
    UNION ALL
    SELECT fact_id, 'sent_after_erasure' AS rule FROM sent_after_erasure
    UNION ALL
    SELECT fact_id, 'offer_disagreement' AS rule FROM offer_disagreement
    UNION ALL
    SELECT fact_id, 'offer_on_uncovered_product' AS rule FROM offer_on_uncovered_product
)

SELECT a.occurred_at, a.customer_id, b.rule
FROM broken AS b
JOIN audited AS a ON a.fact_id = b.fact_id
ORDER BY a.occurred_at, a.customer_id, b.rule
