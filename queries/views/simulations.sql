-- view: simulations
-- grain: one row per committed simulation; its raw.simulations row is the commit marker
-- sources: raw.simulations
-- money: arrived_value, settled_value, total_cost are i64 cents
-- keys: experiment_id, iteration, simulation_id (strings 'adhoc'/'exp-…', 'sim-…'; iteration u32)
-- nulls: agent and sample, except for experiment simulations that evaluate a proposal (agent) or a sample (sample)
SELECT experiment_id, iteration, simulation_id, purpose, scenario, seed, status,
       ticks_per_day, num_days, ticks, agent_ids, event_count, arrivals, settled,
       arrived_value, settled_value, settlement_rate, total_cost,
       config_hash, config_json, policies_json, engine_version, schema_version,
       started_at, finished_at, agent, sample
FROM raw.simulations
