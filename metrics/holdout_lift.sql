-- Each journey's conversion by group, the counts its holdout lift is computed from (docs/metrics.md, "Holdout
-- lift"): the customers who entered in the range, treatment and holdout alike, and how many of them converted within
-- the journey's window after entering. A customer counts once per journey, from their first run in the range, in the
-- group the split draws for them (the same every time they enter); "treatment" is everyone drawn to get the journey,
-- whatever the guards then held (intention to treat). What converts is `conversions` (the runner builds it from the
-- journeys: journey, event_type, channel (NULL: any), within_days): an order that still stands (placed, not since
-- cancelled, voided or found a test), placed on the channel, or a recorded event of that type on it, strictly after
-- entering and at most within_days later, whenever that is (a run started on the range's last day may convert after).
WITH entries AS (
    SELECT
        journey,
        customer_id,
        occurred_at,
        coalesce(run_group, 'treatment') AS run_group,
        row_number() OVER (PARTITION BY journey, customer_id ORDER BY occurred_at, execution) AS entering
    FROM scoped_facts
    WHERE kind = 'run_started'
),

members AS (
    SELECT journey, customer_id, occurred_at AS entered_at, run_group
    FROM entries
    WHERE entering = 1
),

order_channels AS (
    SELECT order_id, channel
    FROM (
        SELECT
            order_id,
            channel,
            row_number() OVER (PARTITION BY order_id ORDER BY occurred_at, fact_id) AS telling
        FROM customer_facts
        WHERE kind = 'order'
    ) AS tellings
    WHERE telling = 1
),

-- What a customer did that may convert: orders from the order book (each once, in its final state), every other
-- event from its own fact.
happenings AS (
    SELECT b.customer_id, 'order_completed' AS event_type, o.channel, b.placed_at AS occurred_at
    FROM order_book AS b
    JOIN order_channels AS o ON o.order_id = b.order_id
    WHERE b.state = 'placed'

    UNION ALL

    SELECT customer_id, event_type, channel, occurred_at
    FROM customer_facts
    WHERE kind = 'event' AND event_type <> 'order_completed'
),

converted AS (
    SELECT DISTINCT m.journey, m.customer_id
    FROM members AS m
    JOIN conversions AS c ON c.journey = m.journey
    JOIN happenings AS h
        ON h.customer_id = m.customer_id AND h.event_type = c.event_type
        AND (c.channel IS NULL OR h.channel = c.channel)
        AND h.occurred_at > m.entered_at
        AND h.occurred_at <= m.entered_at + c.within_days * INTERVAL '1' DAY
)

SELECT
    m.journey,
    m.run_group,
    count(*) AS customers,
    count(c.customer_id) AS converted
FROM members AS m
LEFT JOIN converted AS c ON c.journey = m.journey AND c.customer_id = m.customer_id
GROUP BY m.journey, m.run_group
ORDER BY m.journey, m.run_group
