-- view: policy_evolution
-- grain: one row per committed iteration, optimised agent and policy parameter: the value the
--        agent ran with in that iteration
-- sources: experiment_iterations
-- money: none
-- keys: experiment_id, iteration, agent, parameter
-- nulls: none
SELECT experiment_id, iteration, agent, parameter, value, accepted
FROM (
    SELECT experiment_id, iteration, agent, accepted,
           unnest(parameter_names) AS parameter, unnest(parameter_values) AS value
    FROM experiment_iterations
)
