-- view: agent_costs
-- grain: one row per agent per committed simulation: costs over the whole run
-- sources: simulation_events (CostAccrual)
-- money: liquidity_cost … total_cost are i64 cents, penalty_cost holding deadline and end-of-day
--        penalties; total_cost_units is total_cost in currency units (DECIMAL(20, 2))
-- keys: experiment_id, iteration, simulation_id, agent
-- nulls: none; agents that never accrued a cost have no row
SELECT experiment_id, iteration, simulation_id, agent,
       SUM(liquidity_cost) AS liquidity_cost, SUM(delay_cost) AS delay_cost,
       SUM(collateral_cost) AS collateral_cost, SUM(penalty_cost) AS penalty_cost,
       SUM(split_friction_cost) AS split_friction_cost,
       SUM(liquidity_opportunity_cost) AS liquidity_opportunity_cost,
       SUM(amount) AS total_cost,
       CAST(CAST(SUM(amount) AS DECIMAL(20, 0)) / 100 AS DECIMAL(20, 2)) AS total_cost_units
FROM simulation_events
WHERE event_type = 'CostAccrual'
GROUP BY experiment_id, iteration, simulation_id, agent
