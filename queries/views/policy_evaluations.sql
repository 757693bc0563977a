-- view: policy_evaluations
-- grain: one row per committed iteration, agent and sample of a paired evaluation
-- sources: raw.policy_evaluations, raw.iterations (commit marker)
-- money: old_cost, new_cost, delta (old − new): i64 cents, the agent's total cost in the sample
-- keys: experiment_id, iteration, agent, sample
-- nulls: none
SELECT p.experiment_id, p.iteration, p.agent, p.sample, p.seed, p.old_cost, p.new_cost, p.delta,
       p.old_simulation_id, p.new_simulation_id
FROM raw.policy_evaluations p
WHERE EXISTS (SELECT 1 FROM raw.iterations i WHERE i.experiment_id = p.experiment_id AND i.iteration = p.iteration)
