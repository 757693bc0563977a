-- analysis: agent_performance
-- per simulation and sending agent: payments, settlement rate, mean delay, costs
SELECT t.experiment_id, t.simulation_id, t.sender AS agent,
       COUNT(*) AS payments,
       SUM(CASE WHEN t.status = 'settled' THEN 1 ELSE 0 END) AS settled,
       ROUND(AVG(CASE WHEN t.status = 'settled' THEN 1.0 ELSE 0.0 END), 4) AS settlement_rate,
       ROUND(AVG(t.delay_ticks), 2) AS mean_delay_ticks,
       MAX(c.total_cost) AS total_cost
FROM transactions t
LEFT JOIN agent_costs c
  ON c.experiment_id = t.experiment_id AND c.iteration = t.iteration AND c.simulation_id = t.simulation_id AND c.agent = t.sender
GROUP BY t.experiment_id, t.simulation_id, t.sender
ORDER BY t.experiment_id, t.simulation_id, agent
