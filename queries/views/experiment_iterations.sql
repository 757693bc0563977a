-- view: experiment_iterations
-- grain: one row per committed iteration and optimised agent
-- sources: raw.iterations (each file is its iteration's commit marker)
-- money: cost (the agent's mean over the iteration's samples), total_cost (Σ of the optimised
--        agents' means), delta_sum, mean_old, mean_new, ci_low, ci_high: cents (f64, means)
-- keys: experiment_id, iteration, agent
-- nulls: proposal_* when the proposer gave nothing; delta_sum, mean_new, ci_* when no paired
--        evaluation ran (no proposal, a refused one, or no change)
SELECT experiment_id, iteration, agent, seed, num_samples, policy_json, parameter_names, parameter_values,
       cost, total_cost, settlement_rate, proposal_json, proposal_request, proposal_response,
       accepted, reason, delta_sum, mean_old, mean_new, ci_low, ci_high, next_policy_json
FROM raw.iterations
