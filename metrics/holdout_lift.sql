-- Each journey's conversion by group, the counts its holdout lift is computed from (docs/metrics.md, "Holdout
-- lift"): the customers who entered in the range, treatment and holdout alike, and how many of them converted within
-- the journey's window after its holdout split. A customer counts once per journey, from their first run in the
-- range, in the group the split draws for them (the same every time they enter), unless erased by the range's end;
-- "treatment" is everyone drawn to get the journey, whatever the guards then held (intention to treat). The window
-- starts when the run reached the split: a holdout run ends there (its `run_ended`, outcome `holdout`); for any other
-- run no fact records it, so it starts `split_after_seconds` after entering (the waits before the split, from the
-- journey). What converts is `conversions` (the runner builds it from the journeys: journey, event_type, channel
-- (NULL: any), within_days, split_after_seconds): an order that still stands (placed, not since cancelled, voided or
-- found a test), placed on the channel, or a recorded event of that type on it, strictly after the split and at most
-- within_days later, whenever that is (a run started on the range's last day may convert after).
WITH entries AS (
    SELECT
        r.journey,
        r.customer_id,
        r.run_group,
        CASE
            WHEN r.run_group = 'holdout' AND r.outcome = 'holdout' THEN r.ended_at
            ELSE r.started_at + c.split_after_seconds * INTERVAL '1' SECOND
        END AS split_at,
        row_number() OVER (PARTITION BY r.journey, r.customer_id ORDER BY r.started_at, r.execution) AS entering
    FROM journey_runs AS r
    JOIN (SELECT DISTINCT journey, split_after_seconds FROM conversions) AS c ON c.journey = r.journey
    LEFT JOIN erased_customers AS e ON e.customer_id = r.customer_id
    WHERE r.started_in_scope AND e.customer_id IS NULL
),

members AS (
    SELECT journey, customer_id, run_group, split_at
    FROM entries
    WHERE entering = 1
),

-- What a customer did that may convert: orders from the order book (each once, in its final state), every other
-- event from its own fact.
happenings AS (
    SELECT customer_id, 'order_completed' AS event_type, channel, placed_at AS occurred_at
    FROM order_book
    WHERE state = 'placed'

    UNION ALL

    SELECT customer_id, event_type, channel, occurred_at
    FROM customer_facts
    WHERE kind = 'event' AND event_type <> 'order_completed'
)

-- Each member once, converted when anything of theirs matches the journey's conversion in their window.
SELECT
    m.journey,
    m.run_group,
    count(DISTINCT m.customer_id) AS customers,
    count(DISTINCT h.customer_id) AS converted
FROM members AS m
JOIN conversions AS c ON c.journey = m.journey
LEFT JOIN happenings AS h
    ON h.customer_id = m.customer_id AND h.event_type = c.event_type
    AND (c.channel IS NULL OR h.channel = c.channel)
    AND h.occurred_at > m.split_at
    AND h.occurred_at <= m.split_at + c.within_days * INTERVAL '1' DAY
GROUP BY m.journey, m.run_group
ORDER BY m.journey, m.run_group
