-- The consistency audit (docs/metrics.md): every message sent in the range re-checked against what the customer's
-- record says happened before it, one row per (message, rule) broken; a guard bug shows up here, not in the guards
-- grading themselves. Athena reads the lake again at each use of a relation, so the audit reads each kind it needs
-- once, up to the range's end: the messages of the range with the customers' consents, ticket events and erasures
-- (`record`); their earlier messages, what they bought and when offers closed (`earlier`).
WITH record AS (
    SELECT
        *,
        -- A message goes before whatever else happened at its instant: the rules look strictly before it.
        CASE kind WHEN 'message' THEN 0 ELSE 1 END AS tie
    FROM customer_facts
    WHERE before_range_end AND (
        kind IN ('consent', 'erasure')
        OR (kind = 'event' AND event_type IN ('ticket_opened', 'ticket_solved'))
        OR (kind = 'message' AND status = 'sent' AND in_scope)
    )
),

-- What stood on each customer's record before each fact: tickets still open, their latest consent on its channel and
-- their latest withdrawal there (withdrawing wins a tie), and when they were erased.
checked AS (
    SELECT
        *,
        sum(CASE WHEN kind = 'event' THEN CASE event_type WHEN 'ticket_opened' THEN 1 ELSE -1 END ELSE 0 END) OVER (
            PARTITION BY customer_id ORDER BY occurred_at, tie ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS open_tickets,
        max(CASE WHEN kind = 'consent' THEN occurred_at END) OVER (
            PARTITION BY customer_id, channel ORDER BY occurred_at, tie ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS consented_at,
        max(CASE WHEN kind = 'consent' AND status = 'unsubscribed' THEN occurred_at END) OVER (
            PARTITION BY customer_id, channel ORDER BY occurred_at, tie ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS opted_out_at,
        min(CASE WHEN kind = 'erasure' THEN occurred_at END) OVER (PARTITION BY customer_id) AS erased_at
    FROM record
),

-- The audited messages, with the rules each breaks on its own.
audited AS (
    SELECT
        c.fact_id,
        c.occurred_at,
        c.customer_id,
        c.journey,
        c.step,
        c.execution,
        c.category,
        c.skus,
        c.offer_code,
        c.offer_skus,
        c.category = 'marketing' AND c.opted_out_at IS NOT NULL AND c.opted_out_at = c.consented_at AS after_opt_out,
        c.category = 'marketing' AND c.open_tickets > 0 AS during_open_ticket,
        c.category = 'marketing'
        AND c.channel IN (SELECT channel FROM quiet_channels)
        AND CASE
            WHEN s.quiet_start_minute > s.quiet_end_minute
                THEN c.minute_of_day >= s.quiet_start_minute OR c.minute_of_day < s.quiet_end_minute
            ELSE c.minute_of_day >= s.quiet_start_minute AND c.minute_of_day < s.quiet_end_minute
        END AS in_quiet_hours,
        c.occurred_at >= c.erased_at AS sent_after_erasure,
        c.offer_code IS NOT NULL AND NOT coalesce(array_length(array_intersect(c.offer_skus, c.skus)) > 0, FALSE)
        AS offer_on_uncovered_product
    FROM (
        -- Minutes past midnight in the customer's timezone when it went out.
        SELECT
            c.*,
            hour(c.occurred_at AT TIME ZONE coalesce(c.timezone, s.default_timezone)) * 60
            + minute(c.occurred_at AT TIME ZONE coalesce(c.timezone, s.default_timezone)) AS minute_of_day
        FROM checked AS c
        CROSS JOIN settings AS s
        WHERE c.kind = 'message'
    ) AS c
    CROSS JOIN settings AS s
),

-- When each code stopped being live: when it expired or an order redeemed it, whichever came first.
offer_closed AS (
    SELECT offer_code, min(CASE kind WHEN 'offer_issued' THEN expires_at ELSE occurred_at END) AS closed_at
    FROM unique_facts
    WHERE kind IN ('offer_issued', 'offer_redeemed')
    GROUP BY offer_code
),

-- What a message is compared with beyond its own row: the customer's earlier messages (the same step sent already,
-- another code shown for one of its offer's products while that code was live) and the products they bought in
-- orders that were not tests or voided.
earlier AS (
    SELECT
        m.kind,
        m.fact_id,
        m.occurred_at,
        m.customer_id,
        m.journey,
        m.step,
        m.execution,
        m.offer_code,
        m.offer_skus AS skus,
        c.closed_at
    FROM customer_facts AS m
    LEFT JOIN offer_closed AS c ON c.offer_code = m.offer_code
    WHERE m.kind = 'message' AND m.status = 'sent' AND m.before_range_end

    UNION ALL

    SELECT
        'order' AS kind,
        order_id AS fact_id,
        occurred_at,
        customer_id,
        NULL AS journey,
        NULL AS step,
        NULL AS execution,
        NULL AS offer_code,
        skus,
        NULL AS closed_at
    FROM order_tellings
    WHERE telling = 1 AND state NOT IN ('test', 'voided')
),

-- Each audited message with each earlier thing of its customer; an earlier message went out before it in the order
-- the guards saw them: by time, then journey, step and fact id.
pairs AS (
    SELECT
        a.*,
        e.kind AS earlier_kind,
        e.fact_id AS earlier_fact_id,
        e.occurred_at AS earlier_at,
        e.journey AS earlier_journey,
        e.step AS earlier_step,
        e.execution AS earlier_execution,
        e.offer_code AS earlier_offer_code,
        e.skus AS earlier_skus,
        e.closed_at AS earlier_closed_at,
        e.kind = 'message' AND (
            e.occurred_at < a.occurred_at
            OR (e.occurred_at = a.occurred_at AND (
                e.journey < a.journey
                OR (e.journey = a.journey AND (e.step < a.step OR (e.step = a.step AND e.fact_id < a.fact_id)))
            ))
        ) AS went_before
    FROM audited AS a
    LEFT JOIN earlier AS e ON e.customer_id = a.customer_id AND e.occurred_at <= a.occurred_at
),

-- Which rule each earlier thing shows the message broke.
compared AS (
    SELECT
        *,
        earlier_kind = 'order' AND category = 'marketing' AND earlier_at < occurred_at
        AND (
            coalesce(array_length(array_intersect(earlier_skus, skus)) > 0, FALSE)
            OR coalesce(array_length(array_intersect(earlier_skus, offer_skus)) > 0, FALSE)
        ) AS named_a_product_already_bought,
        went_before AND earlier_journey = journey AND earlier_step = step AND earlier_execution = execution
        AS sent_twice,
        went_before AND earlier_offer_code <> offer_code
        AND coalesce(array_length(array_intersect(earlier_skus, offer_skus)) > 0, FALSE)
        AND (earlier_closed_at IS NULL OR occurred_at < earlier_closed_at) AS offer_disagreement
    FROM pairs
),

-- One row per (message, rule), and per earlier message for a disagreeing offer.
broken AS (
    SELECT DISTINCT
        c.fact_id,
        c.occurred_at,
        c.customer_id,
        r.rule,
        CASE WHEN r.rule = 'offer_disagreement' THEN c.earlier_fact_id END AS earlier_fact_id
    FROM compared AS c
    CROSS JOIN (
        VALUES
        ('named_a_product_already_bought'),
        ('after_opt_out'),
        ('during_open_ticket'),
        ('in_quiet_hours'),
        ('sent_twice'),
        ('sent_after_erasure'),
        ('offer_disagreement'),
        ('offer_on_uncovered_product')
    ) AS r (rule)
    WHERE CASE r.rule
        WHEN 'named_a_product_already_bought' THEN c.named_a_product_already_bought
        WHEN 'after_opt_out' THEN c.after_opt_out
        WHEN 'during_open_ticket' THEN c.during_open_ticket
        WHEN 'in_quiet_hours' THEN c.in_quiet_hours
        WHEN 'sent_twice' THEN c.sent_twice
        WHEN 'sent_after_erasure' THEN c.sent_after_erasure
        WHEN 'offer_disagreement' THEN c.offer_disagreement
        WHEN 'offer_on_uncovered_product' THEN c.offer_on_uncovered_product
    END
)

SELECT occurred_at, customer_id, rule
FROM broken
ORDER BY occurred_at, customer_id, rule
