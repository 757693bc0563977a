-- view: ticks
-- grain: one row per tick of a committed simulation: SimCash's tick counters
-- sources: committed.ticks (raw.ticks restricted to simulations whose commit marker exists)
-- money: total_cost (step-6 costs plus end-of-day penalties of the tick) is i64 cents
-- keys: experiment_id, iteration, simulation_id, tick
-- nulls: none
SELECT t.experiment_id, t.iteration, t.simulation_id, t.tick, t.day, t.num_arrivals,
       t.num_settlements, t.num_lsm_releases, t.total_cost, t.queue2_size, t.event_count
FROM committed.ticks t
