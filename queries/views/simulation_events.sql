-- view: simulation_events
-- grain: one row per event of a committed simulation, in (tick, seq) order within it
-- sources: committed.events (raw.events restricted to simulations whose commit marker exists)
-- money: amount, amount_b, remaining_amount, balance_*, new_total, *_cost are i64 cents
-- keys: experiment_id, iteration, simulation_id, seq; tx_id renders tx as 'tx-00000001'
-- nulls: every column after event_type is NULL where the event type has no such field
SELECT e.experiment_id, e.iteration, e.simulation_id, e.seq, e.tick, e.day, e.event_type,
       e.agent, e.counterparty, e.tx,
       CASE WHEN e.tx IS NULL THEN NULL ELSE concat('tx-', lpad(CAST(e.tx AS VARCHAR), 8, '0')) END AS tx_id,
       e.amount, e.amount_b, e.remaining_amount, e.deadline, e.priority, e.new_priority,
       e.is_divisible, e.settled, e.reason, e.original_reason, e.rtgs_priority, e.old_rtgs_priority,
       e.balance_before, e.balance_after, e.new_total, e.count, e.ticks, e.ref_tick,
       e.fraction, e.old_value, e.new_value, e.register_key, e.decision_path,
       e.liquidity_cost, e.delay_cost, e.collateral_cost, e.penalty_cost, e.split_friction_cost,
       e.liquidity_opportunity_cost, e.scenario_event_type, e.details_json,
       e.tx_ids, e.agents, e.amounts, e.net_positions
FROM committed.events e
