//! The report of one simulation: balances with credit floors, queues, cumulative costs by
//! component, settlements per tick by mechanism, the end-of-day table and an event log.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::ops::RangeInclusive;

use datafusion::prelude::SessionContext;

use super::html::{escape, page, section, table};
use super::svg::{LineChart, Series};
use super::tree;
use super::{ReportError, Rows, literal, money};

/// Agents drawn in one chart at most (those with the highest total cost).
pub const MAX_AGENTS: usize = 8;
/// Rows of the event log at most.
pub const MAX_LOG_ROWS: usize = 500;

/// What a simulation report shows beyond its charts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Ticks whose events the event log lists.
    pub log_ticks: RangeInclusive<i64>,
}

impl Default for Options {
    fn default() -> Self {
        Options { log_ticks: 0..=9 }
    }
}

/// Cost components of `agent_ticks`, with the labels the report gives them.
const COSTS: [(&str, &str); 6] = [
    ("liquidity_cost", "overdraft (liquidity)"),
    ("delay_cost", "delay"),
    ("collateral_cost", "collateral"),
    ("penalty_cost", "penalties"),
    ("split_friction_cost", "split friction"),
    ("liquidity_opportunity_cost", "liquidity opportunity"),
];

/// Settlement mechanisms, by the event that records each settlement.
const SETTLEMENTS: [(&str, &str); 5] = [
    ("RtgsImmediateSettlement", "RTGS immediate"),
    ("Queue2LiquidityRelease", "Queue 2 release"),
    ("LsmBilateralOffset", "LSM bilateral"),
    ("LsmCycleSettlement", "LSM cycle"),
    ("LsmQueue2Settlement", "LSM Queue 2"),
];

/// The HTML report of the committed simulation `id`.
pub async fn report(ctx: &SessionContext, id: &str, opts: &Options) -> Result<String, ReportError> {
    let sim = literal(id);
    let meta = Rows::found(
        ctx,
        &format!(
            "SELECT experiment_id, scenario, seed, ticks, num_days, event_count, settlement_rate, total_cost \
             FROM simulations WHERE simulation_id = {sim} LIMIT 1"
        ),
        id,
    )
    .await?;
    let text = |c: &str| meta.first(c);
    let subtitle = format!(
        "experiment {} · scenario {} · seed {} · {} ticks over {} day(s) · {} events · settlement rate {:.1}% · total cost {}",
        text("experiment_id")?,
        text("scenario")?,
        text("seed")?,
        text("ticks")?,
        text("num_days")?,
        text("event_count")?,
        meta.numbers("settlement_rate")?[0] * 100.0,
        money(meta.numbers("total_cost")?[0]),
    );
    let agents = top_agents(ctx, &sim).await?;
    let shown = if agents.len() > MAX_AGENTS { format!(" (the {MAX_AGENTS} agents with the highest total cost)") } else { String::new() };
    let mut sections = vec![balances(ctx, &sim, &agents, &shown).await?, queues(ctx, &sim).await?, settlements(ctx, &sim).await?];
    sections.push(costs(ctx, &sim, &agents).await?);
    sections.push(end_of_day(ctx, &sim).await?);
    sections.push(policies(ctx, &sim).await?);
    sections.push(event_log(ctx, &sim, &opts.log_ticks).await?);
    Ok(page(&format!("Simulation {id}"), &subtitle, &sections))
}

/// Agents by total cost, highest first, at most [`MAX_AGENTS`].
async fn top_agents(ctx: &SessionContext, sim: &str) -> Result<Vec<String>, ReportError> {
    let rows =
        Rows::query(ctx, &format!("SELECT agent FROM agent_costs WHERE simulation_id = {sim} ORDER BY total_cost DESC, agent LIMIT {MAX_AGENTS}")).await?;
    let mut agents = rows.texts("agent")?;
    agents.sort();
    Ok(agents)
}

/// `agents` as an SQL list.
fn in_list(agents: &[String]) -> String {
    agents.iter().map(|a| literal(a)).collect::<Vec<_>>().join(", ")
}

/// Series of `value` over `tick`, one per `key`, from rows ordered by key then tick.
fn series_by(rows: &Rows, key: &str, value: &str) -> Result<BTreeMap<String, Vec<(f64, f64)>>, ReportError> {
    let (keys, ticks, values) = (rows.texts(key)?, rows.numbers("tick")?, rows.numbers(value)?);
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for ((k, t), v) in keys.into_iter().zip(ticks).zip(values) {
        out.entry(k).or_default().push((t, v));
    }
    Ok(out)
}

async fn balances(ctx: &SessionContext, sim: &str, agents: &[String], shown: &str) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT agent, tick, balance / 100.0 AS balance, -(unsecured_cap + posted_collateral) / 100.0 AS floor \
             FROM agent_ticks WHERE simulation_id = {sim} AND agent IN ({}) ORDER BY agent, tick",
            in_list(agents)
        ),
    )
    .await?;
    let mut series: Vec<Series> = series_by(&rows, "agent", "balance")?.into_iter().map(|(a, p)| Series::new(a, p)).collect();
    let floors = series_by(&rows, "agent", "floor")?.into_iter().enumerate();
    series.extend(floors.map(|(i, (a, p))| Series { dashed: true, colour_of: Some(i), ..Series::new(format!("{a} floor"), p) }));
    let chart = LineChart::new("balance", "tick", "balance (currency units)", series);
    Ok(section(
        "Balances",
        &format!(
            "Each agent's balance at the end of each tick{shown}; dashed: the lowest balance its credit allows (unsecured cap plus posted collateral, below zero)."
        ),
        &chart.render(),
    ))
}

async fn queues(ctx: &SessionContext, sim: &str) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT tick, sum(queue1_count) AS q1n, sum(queue1_value) / 100.0 AS q1v, sum(queue2_count) AS q2n, sum(queue2_value) / 100.0 AS q2v \
             FROM agent_ticks WHERE simulation_id = {sim} GROUP BY tick ORDER BY tick"
        ),
    )
    .await?;
    let ticks = rows.numbers("tick")?;
    let line = |name: &str, col: &str| -> Result<Series, ReportError> { Ok(Series::new(name, ticks.iter().copied().zip(rows.numbers(col)?).collect())) };
    let counts = LineChart::new("queue_sizes", "tick", "payments queued", vec![line("Queue 1 (banks')", "q1n")?, line("Queue 2 (central)", "q2n")?]);
    let values = LineChart::new("queue_values", "tick", "value queued (currency units)", vec![line("Queue 1", "q1v")?, line("Queue 2", "q2v")?]);
    Ok(section("Queues", "Payments waiting at the end of each tick, summed over agents: how many, and their value.", &(counts.render() + &values.render())))
}

async fn settlements(ctx: &SessionContext, sim: &str) -> Result<String, ReportError> {
    let types = SETTLEMENTS.iter().map(|(t, _)| literal(t)).collect::<Vec<_>>().join(", ");
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT event_type, tick, count(*) AS n FROM simulation_events \
             WHERE simulation_id = {sim} AND event_type IN ({types}) GROUP BY event_type, tick ORDER BY event_type, tick"
        ),
    )
    .await?;
    let ticks = Rows::query(ctx, &format!("SELECT max(tick) AS last FROM ticks WHERE simulation_id = {sim}")).await?.numbers("last")?[0] as i64;
    let found = series_by(&rows, "event_type", "n")?;
    let series = SETTLEMENTS
        .iter()
        .filter_map(|(t, label)| {
            let points: BTreeMap<i64, f64> = found.get(*t)?.iter().map(|(x, y)| (*x as i64, *y)).collect();
            Some(Series::new(*label, (0..=ticks).map(|x| (x as f64, points.get(&x).copied().unwrap_or(0.0))).collect()))
        })
        .collect();
    let chart = LineChart::new("settlements", "tick", "settlements in the tick", series);
    Ok(section(
        "Settlements",
        "Settlements per tick, by the mechanism that settled them (mechanisms that never settled anything are left out).",
        &chart.render(),
    ))
}

async fn costs(ctx: &SessionContext, sim: &str, agents: &[String]) -> Result<String, ReportError> {
    let columns = COSTS.iter().map(|(c, _)| format!("{c} / 100.0 AS {c}")).collect::<Vec<_>>().join(", ");
    let rows = Rows::query(
        ctx,
        &format!("SELECT agent, tick, {columns}, total_cost / 100.0 AS total_cost FROM agent_ticks WHERE simulation_id = {sim} AND agent IN ({}) ORDER BY agent, tick", in_list(agents)),
    )
    .await?;
    let mut by_column = Vec::new();
    for (column, label) in COSTS.iter().chain(&[("total_cost", "total")]) {
        by_column.push((*column, *label, series_by(&rows, "agent", column)?));
    }
    let mut charts = String::new();
    for agent in agents {
        let mut series = Vec::new();
        for (column, label, by_agent) in &by_column {
            let points = by_agent.get(agent).cloned().unwrap_or_default();
            // A component that stays at zero adds nothing but a flat line.
            if *column == "total_cost" || points.iter().any(|p| p.1 != 0.0) {
                series.push(Series { dashed: *column == "total_cost", ..Series::new(*label, points) });
            }
        }
        let chart = LineChart::new(format!("costs:{agent}"), "tick", "cumulative cost (currency units)", series);
        charts.push_str(&format!("<h3>{}</h3>{}", escape(agent), chart.render()));
    }
    Ok(section(
        "Costs",
        "Each agent's cost so far at the end of each tick, by component (components that stay at zero are left out); dashed: the total.",
        &charts,
    ))
}

async fn end_of_day(ctx: &SessionContext, sim: &str) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT day, agent, opening_balance, closing_balance, min_balance, num_arrivals, num_settled, queue1_eod_size, total_cost \
             FROM daily_agent_metrics WHERE simulation_id = {sim} ORDER BY day, agent"
        ),
    )
    .await?;
    let (day, agent) = (rows.texts("day")?, rows.texts("agent")?);
    let (open, close, low, cost) =
        (rows.numbers("opening_balance")?, rows.numbers("closing_balance")?, rows.numbers("min_balance")?, rows.numbers("total_cost")?);
    let (arrived, settled, queued) = (rows.texts("num_arrivals")?, rows.texts("num_settled")?, rows.texts("queue1_eod_size")?);
    let body: Vec<Vec<String>> = (0..rows.len())
        .map(|i| {
            vec![
                day[i].clone(),
                agent[i].clone(),
                money(open[i]),
                money(close[i]),
                money(low[i]),
                arrived[i].clone(),
                settled[i].clone(),
                queued[i].clone(),
                money(cost[i]),
            ]
        })
        .collect();
    let headers = ["day", "agent", "opening balance", "closing balance", "lowest balance", "arrivals", "settled", "Queue 1 at end of day", "cost of the day"];
    Ok(section("End of day", "Each agent's day (money in currency units).", &table(&headers, &body)))
}

async fn policies(ctx: &SessionContext, sim: &str) -> Result<String, ReportError> {
    let rows = Rows::query(ctx, &format!("SELECT policies_json FROM simulations WHERE simulation_id = {sim} LIMIT 1")).await?;
    let policies: serde_json::Map<String, serde_json::Value> =
        rows.texts("policies_json")?.first().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
    let mut body = String::new();
    for (agent, policy) in &policies {
        let _ = write!(body, "<h3>{}</h3>", escape(agent));
        let document = policy.get("Tree").and_then(|t| t.get("document"));
        match (policy, document) {
            (serde_json::Value::String(name), _) => {
                let _ = write!(body, "<p>{} (built in)</p>", escape(name));
            }
            (_, Some(doc)) => {
                if let Some(about) = doc.get("description").and_then(|d| d.as_str()) {
                    let _ = write!(body, "<p>{}</p>", escape(about));
                }
                for (key, name) in tree::TREES {
                    if let Some(root) = doc.get(key).filter(|t| !t.is_null()) {
                        let _ = write!(body, "<h4>{}</h4>{}", escape(name), tree::render(&format!("{agent}:{key}"), root));
                    }
                }
            }
            (other, None) => {
                let _ = write!(body, "<pre>{}</pre>", escape(&other.to_string()));
            }
        }
    }
    Ok(section("Policies", "Each agent's policy: built-in ones by name, decision trees drawn node by node (hover a box for its whole text).", &body))
}

async fn event_log(ctx: &SessionContext, sim: &str, ticks: &RangeInclusive<i64>) -> Result<String, ReportError> {
    let rows = Rows::query(
        ctx,
        &format!(
            "SELECT tick, event_type, agent, counterparty, tx_id, amount FROM simulation_events \
             WHERE simulation_id = {sim} AND tick BETWEEN {} AND {} ORDER BY seq LIMIT {}",
            ticks.start(),
            ticks.end(),
            MAX_LOG_ROWS + 1
        ),
    )
    .await?;
    let n = rows.len().min(MAX_LOG_ROWS);
    let cols: Vec<Vec<String>> = ["tick", "event_type", "agent", "counterparty", "tx_id"].iter().map(|c| rows.texts(c)).collect::<Result<_, _>>()?;
    let amounts = rows.texts("amount")?;
    let body: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut row: Vec<String> = cols.iter().map(|c| c[i].clone()).collect();
            row.push(amounts[i].parse::<f64>().map(money).unwrap_or_default());
            row
        })
        .collect();
    let more = if rows.len() > MAX_LOG_ROWS { format!(" The first {MAX_LOG_ROWS} are listed.") } else { String::new() };
    let about = format!("Events of ticks {} to {} in the order they happened (`--ticks A..B` chooses others).{more}", ticks.start(), ticks.end());
    Ok(section("Event log", &about, &table(&["tick", "event", "agent", "counterparty", "transaction", "amount"], &body)))
}
