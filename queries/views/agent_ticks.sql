-- view: agent_ticks
-- grain: one row per agent per tick of a committed simulation: the state after the tick
-- sources: committed.agent_ticks (raw.agent_ticks restricted to simulations whose commit marker exists)
-- money: opening_balance (start of tick), balance, queue values, collateral, costs: i64 cents;
--        cost columns are cumulative since the start of the run
-- counts: cum_* count since the start of the run: arrivals sent, settled transactions sent
--        and received, policy drops, collateral posts and withdrawals
-- keys: experiment_id, iteration, simulation_id, tick, agent
-- nulls: cum_* in simulations written before schema version 2
SELECT t.experiment_id, t.iteration, t.simulation_id, t.tick, t.day, t.agent,
       t.opening_balance, t.balance, t.unsecured_cap, t.posted_collateral,
       t.queue1_count, t.queue1_value, t.queue2_count, t.queue2_value,
       t.liquidity_cost, t.delay_cost, t.collateral_cost, t.penalty_cost,
       t.split_friction_cost, t.liquidity_opportunity_cost, t.total_cost,
       t.cum_arrivals, t.cum_sent, t.cum_received, t.cum_dropped,
       t.cum_collateral_posts, t.cum_collateral_withdrawals
FROM committed.agent_ticks t
