-- view: sweep_points
-- grain: one row per committed point of a parameter sweep (one simulation: parameter values × policy files × seed)
-- sources: raw.sweep_points (each file written after its point's simulation commits), simulations
-- money: total_cost, arrived_value, settled_value are i64 cents; total_cost_units, arrived_value_units,
--        settled_value_units hold the same in currency units (DECIMAL(20, 2))
-- keys: experiment_id ('sweep-<name>-<hash>'), point; simulation_id ('sim-p<configuration>-s<seed_index>', iteration 0)
-- nulls: none; parameter_* and policy_* are empty lists when the sweep has no parameters or policies
-- parameters: parameter_names as written in the sweep file, parameter_values as JSON text
--   (one value: CAST(parameter_values[CAST(array_position(parameter_names, 'lsm_config.enable_cycles') AS BIGINT)] AS BOOLEAN));
--   parameters_json holds the same as one JSON object
SELECT p.experiment_id, p.sweep_name, p.point, p.configuration, p.seed_index, p.seed, p.simulation_id,
       p.parameter_names, p.parameter_values, p.parameters_json, p.policy_agents, p.policy_files,
       s.settlement_rate, s.total_cost, s.arrivals, s.settled, s.arrived_value, s.settled_value,
       s.event_count, s.status, p.scenario,
       s.total_cost_units, s.arrived_value_units, s.settled_value_units
FROM raw.sweep_points p
JOIN simulations s
  ON s.experiment_id = p.experiment_id AND s.iteration = p.iteration AND s.simulation_id = p.simulation_id
