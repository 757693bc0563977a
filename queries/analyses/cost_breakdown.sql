-- analysis: cost_breakdown
-- per simulation: each cost component summed over agents, and its share of the total
SELECT experiment_id, simulation_id,
       SUM(liquidity_cost) AS overdraft, SUM(delay_cost) AS delay, SUM(collateral_cost) AS collateral,
       SUM(penalty_cost) AS penalties, SUM(split_friction_cost) AS split_friction,
       SUM(liquidity_opportunity_cost) AS liquidity_opportunity, SUM(total_cost) AS total,
       ROUND(CAST(SUM(delay_cost) AS DOUBLE) / NULLIF(SUM(total_cost), 0), 4) AS delay_share,
       ROUND(CAST(SUM(penalty_cost) AS DOUBLE) / NULLIF(SUM(total_cost), 0), 4) AS penalty_share
FROM agent_costs
GROUP BY experiment_id, simulation_id
ORDER BY experiment_id, simulation_id
