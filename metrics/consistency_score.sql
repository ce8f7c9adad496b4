-- 1 − (violations ÷ messages sent), to four places; 1.0 when nothing was sent.
SELECT
    CASE
        WHEN s.messages_sent = 0 THEN 1.0
        ELSE round(1 - CAST(v.violations AS DOUBLE) / s.messages_sent, 4)
    END AS consistency_score
FROM messages_sent AS s
CROSS JOIN (SELECT count(*) AS violations FROM consistency_violations) AS v
