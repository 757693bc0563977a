-- view: simulations
-- grain: one row per committed simulation; its raw.simulations row is the commit marker
-- sources: raw.simulations
-- money: arrived_value, settled_value, total_cost are i64 cents; the *_units columns hold the same
--        in currency units (DECIMAL(20, 2)), as the run summary prints them
-- keys: experiment_id, iteration, simulation_id (strings 'adhoc'/'exp-…', 'sim-…'; iteration u32)
-- nulls: agent and sample, except for experiment simulations that evaluate a proposal (agent) or a sample (sample)
SELECT experiment_id, iteration, simulation_id, purpose, scenario, seed, status,
       ticks_per_day, num_days, ticks, agent_ids, event_count, arrivals, settled,
       arrived_value, settled_value, settlement_rate, total_cost,
       config_hash, config_json, policies_json, engine_version, schema_version,
       started_at, finished_at, agent, sample,
       CAST(CAST(arrived_value AS DECIMAL(20, 0)) / 100 AS DECIMAL(20, 2)) AS arrived_value_units,
       CAST(CAST(settled_value AS DECIMAL(20, 0)) / 100 AS DECIMAL(20, 2)) AS settled_value_units,
       CAST(CAST(total_cost AS DECIMAL(20, 0)) / 100 AS DECIMAL(20, 2)) AS total_cost_units
FROM raw.simulations
