-- The facts every metric counts, defined once (docs/analytics.md): each fact once however often it was delivered,
-- under the customer id it belongs to now (the survivor of every merge), with the erased customers and each order
-- once. The scorecard runner puts these relations before each metric's query, after `settings` (the range, the
-- journey and the quiet hours it was asked for) and `quiet_channels`; the final SELECT lets this file run alone.
WITH numbered_facts AS (
    SELECT
        facts.*,
        row_number() OVER (PARTITION BY fact_id ORDER BY occurred_at) AS copy
    FROM facts
),

-- The newest merge of an id names its survivor: merge facts list every id a survivor absorbs, so no recursion.
survivors AS (
    SELECT merged_id, customer_id AS survivor_id
    FROM (
        SELECT
            merged_id,
            customer_id,
            row_number() OVER (PARTITION BY merged_id ORDER BY occurred_at DESC, fact_id DESC) AS newest
        FROM numbered_facts
        WHERE kind = 'merge' AND copy = 1
    ) AS merges
    WHERE newest = 1
),

customer_facts AS (
    SELECT
        f.fact_id,
        f.kind,
        f.occurred_at,
        coalesce(s.survivor_id, f.customer_id) AS customer_id,
        f.event_id,
        f.event_type,
        f.channel,
        f.source,
        f.status,
        f.order_id,
        f.order_state,
        f.amount,
        f.currency,
        f.skus,
        f.refund_id,
        f.ticket_id,
        f.journey,
        f.step,
        f.execution,
        f.category,
        f.template,
        f.reason,
        f.offer_code,
        f.offer_skus,
        f.offer_instead_of,
        f.timezone,
        f.run_group,
        f.outcome,
        f.transitions,
        f.merged_id,
        f.expires_at,
        f.known
    FROM numbered_facts AS f
    LEFT JOIN survivors AS s ON s.merged_id = f.customer_id
    WHERE f.copy = 1
),

-- What the scorecard was asked about: its date range, and one journey's facts where it names one (facts of no
-- journey, such as events and orders, are in whatever the journey).
scoped_facts AS (
    SELECT f.*
    FROM customer_facts AS f
    CROSS JOIN settings AS s
    WHERE (s.range_start IS NULL OR f.occurred_at >= s.range_start)
      AND (s.range_end IS NULL OR f.occurred_at < s.range_end)
      AND (s.journey IS NULL OR f.journey IS NULL OR f.journey = s.journey)
),

erasures AS (
    SELECT customer_id, min(occurred_at) AS erased_at
    FROM customer_facts
    WHERE kind = 'erasure'
    GROUP BY customer_id
),

-- Live customers with something recorded in the range: merged-away ids resolve to their survivor, erased ones are
-- counted no more.
counted_customers AS (
    SELECT DISTINCT f.customer_id
    FROM scoped_facts AS f
    LEFT JOIN erasures AS e ON e.customer_id = f.customer_id
    WHERE f.kind = 'event' AND e.customer_id IS NULL
),

-- Each order once: the first telling's total, products and currency, the most final state any telling states
-- (test > voided > cancelled > placed), less its refunds in its own currency, each refund once. A kept order (placed,
-- not refunded in full) makes its customer a customer (lifecycle stages).
order_tellings AS (
    SELECT
        order_id,
        customer_id,
        occurred_at,
        amount,
        currency,
        skus,
        row_number() OVER (PARTITION BY order_id ORDER BY occurred_at, fact_id) AS telling
    FROM customer_facts
    WHERE kind = 'order'
),

order_states AS (
    SELECT
        order_id,
        max(CASE order_state WHEN 'test' THEN 3 WHEN 'voided' THEN 2 WHEN 'cancelled' THEN 1 ELSE 0 END) AS finality
    FROM customer_facts
    WHERE kind = 'order'
    GROUP BY order_id
),

refunds_once AS (
    SELECT order_id, upper(currency) AS currency, sum(amount) AS refunded
    FROM (
        SELECT
            order_id,
            currency,
            amount,
            row_number() OVER (PARTITION BY refund_id ORDER BY occurred_at, fact_id) AS telling
        FROM customer_facts
        WHERE kind = 'refund'
    ) AS refunds
    WHERE telling = 1
    GROUP BY order_id, upper(currency)
),

order_book AS (
    SELECT
        t.order_id,
        t.customer_id,
        t.occurred_at AS placed_at,
        t.skus,
        CASE o.finality WHEN 3 THEN 'test' WHEN 2 THEN 'voided' WHEN 1 THEN 'cancelled' ELSE 'placed' END AS state,
        CASE
            WHEN o.finality = 0 THEN greatest(t.amount - coalesce(r.refunded, 0), 0)
            ELSE 0
        END AS revenue,
        o.finality = 0 AND (coalesce(r.refunded, 0) < t.amount OR t.amount = 0) AS kept
    FROM order_tellings AS t
    JOIN order_states AS o ON o.order_id = t.order_id
    LEFT JOIN refunds_once AS r ON r.order_id = t.order_id AND r.currency = upper(t.currency)
    WHERE t.telling = 1
),

-- The orders the scorecard counts: placed in the range by a counted customer.
counted_orders AS (
    SELECT b.*
    FROM order_book AS b
    JOIN counted_customers AS c ON c.customer_id = b.customer_id
    CROSS JOIN settings AS s
    WHERE (s.range_start IS NULL OR b.placed_at >= s.range_start)
      AND (s.range_end IS NULL OR b.placed_at < s.range_end)
)

SELECT * FROM scoped_facts
