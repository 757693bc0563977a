-- view: daily_agent_metrics
-- grain: one row per agent per day of a committed simulation (SimCash's columns, plus
--        liquidity_opportunity_cost)
-- sources: agent_ticks only: balances, collateral and queues from the day's first and last
--          ticks; counts and costs are the day's increase of the cumulative cum_* counters
--          and cost columns (counts: arrivals and drops by the agent, collateral posts and
--          withdrawals, settled transactions sent and received, by settlement day)
-- money: balances, collateral and costs are i64 cents; penalty_cost holds deadline and
--        end-of-day penalties
-- keys: experiment_id, iteration, simulation_id, agent, day
-- nulls: none, except the counts of simulations written before schema version 2 (no cum_*
--        counters in their agent_ticks files)
WITH days AS (
    SELECT experiment_id, iteration, simulation_id, agent, day,
           first_value(opening_balance ORDER BY tick) AS opening_balance,
           last_value(balance ORDER BY tick) AS closing_balance,
           MIN(balance) AS min_balance, MAX(balance) AS max_balance,
           last_value(unsecured_cap ORDER BY tick) AS unsecured_cap,
           first_value(posted_collateral ORDER BY tick) AS opening_posted_collateral,
           last_value(posted_collateral ORDER BY tick) AS closing_posted_collateral,
           MAX(posted_collateral) AS peak_posted_collateral,
           MAX(queue1_count) AS queue1_peak_size,
           last_value(queue1_count ORDER BY tick) AS queue1_eod_size,
           last_value(cum_arrivals ORDER BY tick) AS arrivals,
           last_value(cum_sent ORDER BY tick) AS sent,
           last_value(cum_received ORDER BY tick) AS received,
           last_value(cum_dropped ORDER BY tick) AS dropped,
           last_value(cum_collateral_posts ORDER BY tick) AS collateral_posts,
           last_value(cum_collateral_withdrawals ORDER BY tick) AS collateral_withdrawals,
           last_value(liquidity_cost ORDER BY tick) AS liquidity,
           last_value(delay_cost ORDER BY tick) AS delay,
           last_value(collateral_cost ORDER BY tick) AS collateral,
           last_value(split_friction_cost ORDER BY tick) AS split_friction,
           last_value(penalty_cost ORDER BY tick) AS penalty,
           last_value(liquidity_opportunity_cost ORDER BY tick) AS liquidity_opportunity,
           last_value(total_cost ORDER BY tick) AS total
    FROM agent_ticks
    GROUP BY experiment_id, iteration, simulation_id, agent, day
)
SELECT experiment_id, iteration, simulation_id, agent, day,
       opening_balance, closing_balance, min_balance, max_balance,
       unsecured_cap, GREATEST(0, -min_balance) AS peak_overdraft,
       opening_posted_collateral, closing_posted_collateral, peak_posted_collateral,
       CAST(collateral_posts - COALESCE(LAG(collateral_posts) OVER w, 0) AS BIGINT) AS num_collateral_posts,
       CAST(collateral_withdrawals - COALESCE(LAG(collateral_withdrawals) OVER w, 0) AS BIGINT) AS num_collateral_withdrawals,
       CAST(arrivals - COALESCE(LAG(arrivals) OVER w, 0) AS BIGINT) AS num_arrivals,
       CAST(sent - COALESCE(LAG(sent) OVER w, 0) AS BIGINT) AS num_sent,
       CAST(received - COALESCE(LAG(received) OVER w, 0) AS BIGINT) AS num_received,
       CAST(sent - COALESCE(LAG(sent) OVER w, 0) AS BIGINT) AS num_settled,
       CAST(dropped - COALESCE(LAG(dropped) OVER w, 0) AS BIGINT) AS num_dropped,
       queue1_peak_size, queue1_eod_size,
       liquidity - COALESCE(LAG(liquidity) OVER w, 0) AS liquidity_cost,
       delay - COALESCE(LAG(delay) OVER w, 0) AS delay_cost,
       collateral - COALESCE(LAG(collateral) OVER w, 0) AS collateral_cost,
       split_friction - COALESCE(LAG(split_friction) OVER w, 0) AS split_friction_cost,
       penalty - COALESCE(LAG(penalty) OVER w, 0) AS penalty_cost,
       liquidity_opportunity - COALESCE(LAG(liquidity_opportunity) OVER w, 0) AS liquidity_opportunity_cost,
       total - COALESCE(LAG(total) OVER w, 0) AS total_cost
FROM days
WINDOW w AS (PARTITION BY experiment_id, iteration, simulation_id, agent ORDER BY day)
