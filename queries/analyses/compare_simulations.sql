-- analysis: compare_simulations
-- one row per simulation, cheapest first: scenario, seed, settlement rate, total cost
SELECT experiment_id, iteration, simulation_id, scenario, seed, arrivals, settled,
       ROUND(settlement_rate, 4) AS settlement_rate, total_cost, event_count, finished_at
FROM simulations
ORDER BY total_cost, experiment_id, simulation_id
