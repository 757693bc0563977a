-- analysis: delay_percentiles
-- per simulation: settlement delay (ticks from arrival) at p50, p95 and max, settled payments only
SELECT experiment_id, simulation_id, COUNT(*) AS settled,
       approx_percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_ticks) AS p50_delay_ticks,
       approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY delay_ticks) AS p95_delay_ticks,
       MAX(delay_ticks) AS max_delay_ticks
FROM transactions
WHERE status = 'settled'
GROUP BY experiment_id, simulation_id
ORDER BY experiment_id, simulation_id
