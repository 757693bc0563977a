-- view: experiment_convergence
-- grain: one row per committed iteration and optimised agent: how costs moved
-- sources: experiment_iterations
-- money: cost, total_cost, change: cents (f64 means)
-- keys: experiment_id, iteration, agent
-- nulls: change and relative_change at iteration 0
SELECT experiment_id, iteration, agent, cost, total_cost, accepted,
       total_cost - LAG(total_cost) OVER (PARTITION BY experiment_id, agent ORDER BY iteration) AS change,
       (total_cost - LAG(total_cost) OVER (PARTITION BY experiment_id, agent ORDER BY iteration))
         / GREATEST(ABS(LAG(total_cost) OVER (PARTITION BY experiment_id, agent ORDER BY iteration)), 1.0) AS relative_change
FROM experiment_iterations
