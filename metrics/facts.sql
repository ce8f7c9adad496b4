-- The facts every metric counts, defined once (docs/analytics.md): each fact once however often it was delivered,
-- under the customer id it belongs to now (the end of its merge chain), with the erased customers, each order once
-- and each won deal once. The scorecard runner puts these relations before each metric's query, after `settings` (the range, the
-- journey and the quiet hours it was asked for) and `quiet_channels`; the final SELECT lets this file run alone.
--
-- Athena (Trino) inlines a WITH query at every use: each use of a relation here reads the lake again. So a metric
-- names each relation as few times as it can, and every use names the kinds it needs (`kind = '…'`), which reaches
-- the table through the numbering below (partitioned by kind) and reads those kinds' partitions only.
WITH unique_facts AS (
    SELECT *
    FROM (
        SELECT
            facts.*,
            row_number() OVER (PARTITION BY kind, fact_id ORDER BY occurred_at) AS copy
        FROM facts
    ) AS numbered
    WHERE copy = 1
),

-- Where a merged-away id lives now: the end of its merge chain, whatever order the merges happened or were recorded
-- in (a late event, or a replayed one whose merges are put again with its own time). A survivor's merge facts list
-- every id it absorbed, those its absorbed profiles had absorbed included, so an id's survivor is, among the merges
-- of that id, the one whose customer id was never merged away itself. One pass over the merges: each says that its
-- customer id absorbed an id and that this id was merged away.
merge_roles AS (
    SELECT
        CASE r.role WHEN 'absorbed' THEN m.customer_id ELSE m.merged_id END AS customer_id,
        CASE r.role WHEN 'absorbed' THEN m.merged_id END AS absorbed_id
    FROM facts AS m
    CROSS JOIN UNNEST(['absorbed', 'merged_away']) AS r (role)
    WHERE m.kind = 'merge'
),

survivors AS (
    SELECT absorbed_id AS merged_id, min(customer_id) AS survivor_id
    FROM (
        SELECT
            customer_id,
            absorbed_id,
            count(*) OVER (PARTITION BY customer_id) - count(absorbed_id) OVER (PARTITION BY customer_id) AS merged_away
        FROM merge_roles
    ) AS ids
    WHERE absorbed_id IS NOT NULL AND merged_away = 0
    GROUP BY absorbed_id
),

-- Each fact under its customer's id now, and whether it falls in what the scorecard was asked about: its days
-- (`in_range`; `before_range_end` for what may precede them), and one journey's facts where it names one (facts of
-- no journey, such as events and orders, are in whatever the journey). Days are compared as the partition `day` so
-- that Athena reads only those days' files.
customer_facts AS (
    SELECT
        f.fact_id,
        f.kind,
        f.day,
        f.occurred_at,
        coalesce(v.survivor_id, f.customer_id) AS customer_id,
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
        f.known,
        f.deal_id,
        f.deal_property,
        (s.range_start IS NULL OR f.day >= CAST(CAST(s.range_start AS DATE) AS VARCHAR))
        AND (s.range_end IS NULL OR f.day < CAST(CAST(s.range_end AS DATE) AS VARCHAR))
        AND (s.journey IS NULL OR f.journey IS NULL OR f.journey = s.journey) AS in_scope,
        s.range_end IS NULL OR f.day < CAST(CAST(s.range_end AS DATE) AS VARCHAR) AS before_range_end
    FROM unique_facts AS f
    CROSS JOIN settings AS s
    LEFT JOIN survivors AS v ON v.merged_id = f.customer_id
),

scoped_facts AS (
    SELECT *
    FROM customer_facts
    WHERE in_scope
),

-- The customers erased by the range's end (with no end, all of them): counted no more from then on, so an erasure
-- after a range changes none of its figures. The erasure lists the customer and every id merged into them, so their
-- ids need no resolving.
erased_customers AS (
    SELECT e.customer_id
    FROM unique_facts AS e
    CROSS JOIN settings AS s
    WHERE e.kind = 'erasure'
    GROUP BY e.customer_id, s.range_end
    HAVING s.range_end IS NULL OR min(e.occurred_at) < s.range_end
),

-- The customers the scorecard counts: those with an event in the range and not erased by its end.
counted_customers AS (
    SELECT DISTINCT f.customer_id
    FROM scoped_facts AS f
    LEFT JOIN erased_customers AS e ON e.customer_id = f.customer_id
    WHERE f.kind = 'event' AND e.customer_id IS NULL
),

-- Each journey run once, from its start and its end: whose, when it started (and whether in the scorecard's scope),
-- on which channel and in which group, and how and when it ended (the channel it converted on, for a goal).
journey_runs AS (
    SELECT
        journey,
        execution,
        max(CASE WHEN kind = 'run_started' THEN customer_id END) AS customer_id,
        max(CASE WHEN kind = 'run_started' THEN occurred_at END) AS started_at,
        max(CASE WHEN kind = 'run_started' AND in_scope THEN 1 ELSE 0 END) = 1 AS started_in_scope,
        max(CASE WHEN kind = 'run_started' THEN channel END) AS started_on,
        max(CASE WHEN kind = 'run_started' THEN coalesce(run_group, 'treatment') END) AS run_group,
        max(CASE WHEN kind = 'run_ended' THEN outcome END) AS outcome,
        max(CASE WHEN kind = 'run_ended' THEN occurred_at END) AS ended_at,
        max(CASE WHEN kind = 'run_ended' AND outcome = 'goal' THEN channel END) AS converted_on
    FROM customer_facts
    WHERE kind IN ('run_started', 'run_ended')
    GROUP BY journey, execution
),

-- Each order once: the first telling's total, products, currency and channel, the most final state any telling
-- states (test > voided > cancelled > placed), less its refunds in its own currency, each refund once. A kept order
-- (placed, not refunded in full) makes its customer a customer (lifecycle stages).
order_tellings AS (
    SELECT
        order_id,
        customer_id,
        occurred_at,
        channel,
        amount,
        currency,
        skus,
        row_number() OVER (PARTITION BY order_id ORDER BY occurred_at, fact_id) AS telling,
        CASE max(CASE order_state WHEN 'test' THEN 3 WHEN 'voided' THEN 2 WHEN 'cancelled' THEN 1 ELSE 0 END) OVER (
            PARTITION BY order_id
        )
            WHEN 3 THEN 'test'
            WHEN 2 THEN 'voided'
            WHEN 1 THEN 'cancelled'
            ELSE 'placed'
        END AS state
    FROM customer_facts
    WHERE kind = 'order'
),

-- Refunds belong to their order, whoever's it is now.
refunds_once AS (
    SELECT order_id, upper(currency) AS currency, sum(amount) AS refunded
    FROM (
        SELECT
            order_id,
            currency,
            amount,
            row_number() OVER (PARTITION BY refund_id ORDER BY occurred_at, fact_id) AS telling
        FROM unique_facts
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
        t.channel,
        t.skus,
        t.state,
        CASE WHEN t.state = 'placed' THEN greatest(t.amount - coalesce(r.refunded, 0), 0) ELSE 0 END AS revenue,
        t.state = 'placed' AND (coalesce(r.refunded, 0) < t.amount OR t.amount = 0) AS kept
    FROM order_tellings AS t
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
),

-- Each won deal with an amount, once, for the customer whose value it is: its value joined from its tellings on
-- each customer's copy as the profile joins them (profiles/model.py, "Deals"), per property the latest telling (by
-- the event's time, then its id's digest; a cleared property has none). Won by HubSpot's `hs_is_closed_won` where
-- told, else by the stage `closedwon`, since the telling that decided it; a deal deleted in the CRM (its latest
-- `archived` telling "true") is none. Of the customers it is on now (their latest `associated` telling "true"), not
-- erased, the one whose association is the oldest, then by customer id, as the report credits it. Its amount is in its own
-- currency (NULL: the CRM's company currency).
deal_tellings AS (
    SELECT
        customer_id,
        deal_id,
        deal_property,
        occurred_at,
        amount,
        currency,
        status,
        row_number() OVER (
            PARTITION BY customer_id, deal_id, deal_property ORDER BY occurred_at DESC, event_id DESC
        ) AS recency
    FROM customer_facts
    WHERE kind = 'deal'
),

deal_book AS (
    SELECT
        d.customer_id,
        d.deal_id,
        d.amount,
        coalesce(d.currency, s.crm_currency) AS currency,
        CASE WHEN d.verdict IS NULL THEN d.stage_at ELSE d.verdict_at END AS won_at,
        coalesce(coalesce(d.currency, s.crm_currency) = s.shop_currency, FALSE) AS in_shop_currency
    FROM (
        SELECT
            copies.*,
            row_number() OVER (PARTITION BY copies.deal_id ORDER BY copies.associated_at, copies.customer_id) AS credit
        FROM (
            SELECT
                customer_id,
                deal_id,
                max(CASE WHEN deal_property = 'amount' THEN amount END) AS amount,
                max(CASE WHEN deal_property = 'deal_currency_code' THEN currency END) AS currency,
                max(CASE WHEN deal_property = 'hs_is_closed_won' THEN lower(status) END) AS verdict,
                max(CASE WHEN deal_property = 'hs_is_closed_won' THEN occurred_at END) AS verdict_at,
                max(CASE WHEN deal_property = 'dealstage' THEN status END) AS stage,
                max(CASE WHEN deal_property = 'dealstage' THEN occurred_at END) AS stage_at,
                max(CASE WHEN deal_property = 'archived' THEN lower(status) END) AS archived,
                max(CASE WHEN deal_property = 'associated' THEN lower(status) END) AS associated,
                max(CASE WHEN deal_property = 'associated' THEN occurred_at END) AS associated_at
            FROM deal_tellings
            WHERE recency = 1
            GROUP BY customer_id, deal_id
        ) AS copies
        LEFT JOIN erased_customers AS e ON e.customer_id = copies.customer_id
        WHERE copies.associated = 'true' AND e.customer_id IS NULL
    ) AS d
    CROSS JOIN settings AS s
    WHERE d.credit = 1 AND d.amount IS NOT NULL AND coalesce(d.verdict = 'true', d.stage = 'closedwon', FALSE)
      AND coalesce(d.archived, 'false') <> 'true'
),

-- What customers earned, and when: each order's revenue when it was placed, and each won deal's amount when it was
-- won where it is in the shop's currency (config/shop.yaml; a deal naming none is in `crm_currency`); a deal in
-- another currency is no revenue (`clv_deals_apart` reports it apart).
earnings AS (
    SELECT customer_id, placed_at AS earned_at, revenue
    FROM order_book
    UNION ALL
    SELECT customer_id, won_at, amount
    FROM deal_book
    WHERE in_shop_currency
),

-- What the counted customers earned in the range, as counted_orders are their orders in it (after `earnings`, which
-- it reads).
counted_earnings AS (
    SELECT e.*
    FROM earnings AS e
    JOIN counted_customers AS c ON c.customer_id = e.customer_id
    CROSS JOIN settings AS s
    WHERE (s.range_start IS NULL OR e.earned_at >= s.range_start)
      AND (s.range_end IS NULL OR e.earned_at < s.range_end)
)

SELECT * FROM scoped_facts
