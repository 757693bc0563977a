-- view: agent_costs
-- grain: one row per agent per committed simulation: costs over the whole run
-- sources: simulation_events (CostAccrual)
-- money: every column after agent is i64 cents; penalty_cost holds deadline and end-of-day penalties
-- keys: experiment_id, iteration, simulation_id, agent
-- nulls: none; agents that never accrued a cost have no row
SELECT experiment_id, iteration, simulation_id, agent,
       SUM(liquidity_cost) AS liquidity_cost, SUM(delay_cost) AS delay_cost,
       SUM(collateral_cost) AS collateral_cost, SUM(penalty_cost) AS penalty_cost,
       SUM(split_friction_cost) AS split_friction_cost,
       SUM(liquidity_opportunity_cost) AS liquidity_opportunity_cost,
       SUM(amount) AS total_cost
FROM simulation_events
WHERE event_type = 'CostAccrual'
GROUP BY experiment_id, iteration, simulation_id, agent
