-- view: experiments
-- grain: one row per experiment (status running, converged or max_iterations)
-- sources: raw.experiments
-- money: none
-- keys: experiment_id ('exp-<name>-<hash>')
-- nulls: convergence_reason and finished_at while running
SELECT experiment_id, name, description, scenario, mode, num_samples, master_seed, optimized_agents,
       proposer, status, convergence_reason, iterations, started_at, finished_at, config_json
FROM raw.experiments
