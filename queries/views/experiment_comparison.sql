-- view: experiment_comparison
-- grain: one row per experiment and optimised agent: the last committed iteration
-- sources: experiments, experiment_iterations
-- money: final_cost, final_total_cost, first_total_cost: cents (f64 means); the *_units columns
--        hold the same in currency units
-- keys: experiment_id, agent
-- nulls: none
WITH last AS (
    SELECT experiment_id, MAX(iteration) AS iteration FROM experiment_iterations GROUP BY experiment_id
), first AS (
    SELECT experiment_id, MIN(total_cost) FILTER (WHERE iteration = 0) AS first_total_cost
    FROM experiment_iterations GROUP BY experiment_id
)
SELECT e.experiment_id, e.name, e.mode, e.num_samples, e.master_seed, e.status, i.agent,
       l.iteration + 1 AS iterations, f.first_total_cost, i.total_cost AS final_total_cost,
       i.cost AS final_cost, i.next_policy_json AS final_policy_json,
       f.first_total_cost / 100.0 AS first_total_cost_units, i.total_cost / 100.0 AS final_total_cost_units,
       i.cost / 100.0 AS final_cost_units
FROM experiments e
JOIN last l ON l.experiment_id = e.experiment_id
JOIN first f ON f.experiment_id = e.experiment_id
JOIN experiment_iterations i ON i.experiment_id = l.experiment_id AND i.iteration = l.iteration
