-- The pre-schema-2 definition of daily_agent_metrics, kept as an independent computation for
-- the tests: it derives every column from simulation_events, transactions and agent_ticks
-- with joins, where the view now aggregates agent_ticks' cumulative counters.
WITH days AS (
    SELECT experiment_id, iteration, simulation_id, agent, day,
           MIN(tick) AS first_tick, MAX(tick) AS last_tick,
           MIN(balance) AS min_balance, MAX(balance) AS max_balance,
           MAX(posted_collateral) AS peak_posted_collateral, MAX(queue1_count) AS queue1_peak_size
    FROM agent_ticks GROUP BY experiment_id, iteration, simulation_id, agent, day
),
first_tick AS (
    SELECT t.experiment_id, t.iteration, t.simulation_id, t.agent, t.day,
           t.opening_balance, t.posted_collateral AS opening_posted_collateral
    FROM agent_ticks t JOIN days d
      ON t.experiment_id = d.experiment_id AND t.iteration = d.iteration AND t.simulation_id = d.simulation_id
     AND t.agent = d.agent AND t.tick = d.first_tick
),
last_tick AS (
    SELECT t.experiment_id, t.iteration, t.simulation_id, t.agent, t.day,
           t.balance AS closing_balance, t.posted_collateral AS closing_posted_collateral,
           t.unsecured_cap, t.queue1_count AS queue1_eod_size
    FROM agent_ticks t JOIN days d
      ON t.experiment_id = d.experiment_id AND t.iteration = d.iteration AND t.simulation_id = d.simulation_id
     AND t.agent = d.agent AND t.tick = d.last_tick
),
event_counts AS (
    SELECT experiment_id, iteration, simulation_id, agent, day,
           SUM(CASE WHEN event_type = 'Arrival' THEN 1 ELSE 0 END) AS num_arrivals,
           SUM(CASE WHEN event_type = 'PolicyDrop' THEN 1 ELSE 0 END) AS num_dropped,
           SUM(CASE WHEN event_type = 'CollateralPost' THEN 1 ELSE 0 END) AS num_collateral_posts,
           SUM(CASE WHEN event_type = 'CollateralWithdraw' THEN 1 ELSE 0 END) AS num_collateral_withdrawals,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN liquidity_cost ELSE 0 END) AS liquidity_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN delay_cost ELSE 0 END) AS delay_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN collateral_cost ELSE 0 END) AS collateral_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN split_friction_cost ELSE 0 END) AS split_friction_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN penalty_cost ELSE 0 END) AS penalty_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN liquidity_opportunity_cost ELSE 0 END) AS liquidity_opportunity_cost,
           SUM(CASE WHEN event_type = 'CostAccrual' THEN amount ELSE 0 END) AS total_cost
    FROM simulation_events
    WHERE event_type IN ('Arrival', 'PolicyDrop', 'CollateralPost', 'CollateralWithdraw', 'CostAccrual') AND agent IS NOT NULL
    GROUP BY experiment_id, iteration, simulation_id, agent, day
),
sent AS (
    SELECT experiment_id, iteration, simulation_id, sender AS agent,
           CAST(settlement_tick / s.ticks_per_day AS INT UNSIGNED) AS day, COUNT(*) AS num_sent
    FROM transactions JOIN simulations s USING (experiment_id, iteration, simulation_id)
    WHERE settlement_tick IS NOT NULL
    GROUP BY experiment_id, iteration, simulation_id, sender, CAST(settlement_tick / s.ticks_per_day AS INT UNSIGNED)
),
received AS (
    SELECT experiment_id, iteration, simulation_id, receiver AS agent,
           CAST(settlement_tick / s.ticks_per_day AS INT UNSIGNED) AS day, COUNT(*) AS num_received
    FROM transactions JOIN simulations s USING (experiment_id, iteration, simulation_id)
    WHERE settlement_tick IS NOT NULL
    GROUP BY experiment_id, iteration, simulation_id, receiver, CAST(settlement_tick / s.ticks_per_day AS INT UNSIGNED)
)
SELECT d.experiment_id, d.iteration, d.simulation_id, d.agent, d.day,
       f.opening_balance, l.closing_balance, d.min_balance, d.max_balance,
       l.unsecured_cap, GREATEST(0, -d.min_balance) AS peak_overdraft,
       f.opening_posted_collateral, l.closing_posted_collateral, d.peak_posted_collateral,
       COALESCE(c.num_collateral_posts, 0) AS num_collateral_posts,
       COALESCE(c.num_collateral_withdrawals, 0) AS num_collateral_withdrawals,
       COALESCE(c.num_arrivals, 0) AS num_arrivals,
       COALESCE(se.num_sent, 0) AS num_sent,
       COALESCE(r.num_received, 0) AS num_received,
       COALESCE(se.num_sent, 0) AS num_settled,
       COALESCE(c.num_dropped, 0) AS num_dropped,
       d.queue1_peak_size, l.queue1_eod_size,
       COALESCE(c.liquidity_cost, 0) AS liquidity_cost,
       COALESCE(c.delay_cost, 0) AS delay_cost,
       COALESCE(c.collateral_cost, 0) AS collateral_cost,
       COALESCE(c.split_friction_cost, 0) AS split_friction_cost,
       COALESCE(c.penalty_cost, 0) AS penalty_cost,
       COALESCE(c.liquidity_opportunity_cost, 0) AS liquidity_opportunity_cost,
       COALESCE(c.total_cost, 0) AS total_cost
FROM days d
JOIN first_tick f ON f.experiment_id = d.experiment_id AND f.iteration = d.iteration AND f.simulation_id = d.simulation_id AND f.agent = d.agent AND f.day = d.day
JOIN last_tick l ON l.experiment_id = d.experiment_id AND l.iteration = d.iteration AND l.simulation_id = d.simulation_id AND l.agent = d.agent AND l.day = d.day
LEFT JOIN event_counts c ON c.experiment_id = d.experiment_id AND c.iteration = d.iteration AND c.simulation_id = d.simulation_id AND c.agent = d.agent AND c.day = d.day
LEFT JOIN sent se ON se.experiment_id = d.experiment_id AND se.iteration = d.iteration AND se.simulation_id = d.simulation_id AND se.agent = d.agent AND se.day = d.day
LEFT JOIN received r ON r.experiment_id = d.experiment_id AND r.iteration = d.iteration AND r.simulation_id = d.simulation_id AND r.agent = d.agent AND r.day = d.day
