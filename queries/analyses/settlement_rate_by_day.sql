-- analysis: settlement_rate_by_day
-- per simulation and arrival day: payments that arrived and the share settled by the end
SELECT experiment_id, simulation_id, arrival_day AS day,
       COUNT(*) AS arrivals,
       SUM(CASE WHEN status = 'settled' THEN 1 ELSE 0 END) AS settled,
       ROUND(AVG(CASE WHEN status = 'settled' THEN 1.0 ELSE 0.0 END), 4) AS settlement_rate
FROM transactions
GROUP BY experiment_id, simulation_id, arrival_day
ORDER BY experiment_id, simulation_id, day
