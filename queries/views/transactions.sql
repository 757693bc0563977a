-- view: transactions
-- grain: one row per transaction (split children included) of a committed simulation
-- sources: simulation_events (Arrival, RtgsSubmission, settlement events, PolicyDrop,
--          PolicySplit, TransactionWentOverdue)
-- money: amount is i64 cents
-- keys: experiment_id, iteration, simulation_id, tx ('tx_id' is its text form)
-- nulls: settlement_tick, settled_by, delay_ticks while unsettled; rtgs_submission_tick while
--        in Queue 1; overdue_since_tick unless it went overdue
-- status: settled | dropped | split (parent of split children) | overdue | pending
WITH arrivals AS (
    SELECT experiment_id, iteration, simulation_id, tx, tx_id, agent AS sender, counterparty AS receiver,
           amount, priority, is_divisible, tick AS arrival_tick, day AS arrival_day, deadline AS deadline_tick
    FROM simulation_events WHERE event_type = 'Arrival'
),
settlements AS (
    SELECT experiment_id, iteration, simulation_id, tx, tick AS settlement_tick,
           CASE event_type WHEN 'RtgsImmediateSettlement' THEN 'rtgs'
                           WHEN 'Queue2LiquidityRelease' THEN 'queue2'
                           ELSE 'lsm_queue2' END AS settled_by
    FROM simulation_events
    WHERE event_type IN ('RtgsImmediateSettlement', 'Queue2LiquidityRelease', 'LsmQueue2Settlement') AND tx IS NOT NULL
    UNION ALL
    SELECT experiment_id, iteration, simulation_id, unnest(tx_ids) AS tx, tick AS settlement_tick, 'lsm_bilateral' AS settled_by
    FROM simulation_events
    WHERE (event_type = 'LsmBilateralOffset' AND settled) OR event_type = 'LsmBilateralSettlement'
    UNION ALL
    SELECT experiment_id, iteration, simulation_id, unnest(tx_ids) AS tx, tick AS settlement_tick, 'lsm_cycle' AS settled_by
    FROM simulation_events WHERE event_type = 'LsmCycleSettlement'
),
submissions AS (
    SELECT experiment_id, iteration, simulation_id, tx, MIN(tick) AS rtgs_submission_tick
    FROM simulation_events WHERE event_type = 'RtgsSubmission'
    GROUP BY experiment_id, iteration, simulation_id, tx
),
marks AS (
    SELECT experiment_id, iteration, simulation_id, tx,
           MAX(CASE WHEN event_type = 'PolicyDrop' THEN 1 ELSE 0 END) AS dropped,
           MAX(CASE WHEN event_type = 'PolicySplit' THEN 1 ELSE 0 END) AS split,
           MIN(CASE WHEN event_type = 'TransactionWentOverdue' THEN tick END) AS overdue_since_tick
    FROM simulation_events
    WHERE event_type IN ('PolicyDrop', 'PolicySplit', 'TransactionWentOverdue')
    GROUP BY experiment_id, iteration, simulation_id, tx
)
SELECT a.experiment_id, a.iteration, a.simulation_id, a.tx, a.tx_id, a.sender, a.receiver, a.amount,
       a.priority, a.is_divisible, a.arrival_tick, a.arrival_day, a.deadline_tick,
       sub.rtgs_submission_tick, s.settlement_tick, s.settled_by, m.overdue_since_tick,
       CASE WHEN s.tx IS NOT NULL THEN 'settled'
            WHEN m.dropped = 1 THEN 'dropped'
            WHEN m.split = 1 THEN 'split'
            WHEN m.overdue_since_tick IS NOT NULL THEN 'overdue'
            ELSE 'pending' END AS status,
       CAST(s.settlement_tick AS BIGINT) - CAST(a.arrival_tick AS BIGINT) AS delay_ticks
FROM arrivals a
LEFT JOIN settlements s
    ON s.experiment_id = a.experiment_id AND s.iteration = a.iteration AND s.simulation_id = a.simulation_id AND s.tx = a.tx
LEFT JOIN submissions sub
    ON sub.experiment_id = a.experiment_id AND sub.iteration = a.iteration AND sub.simulation_id = a.simulation_id AND sub.tx = a.tx
LEFT JOIN marks m
    ON m.experiment_id = a.experiment_id AND m.iteration = a.iteration AND m.simulation_id = a.simulation_id AND m.tx = a.tx
