//! The verbose renderer: one tick's events plus the state after it → text.
//!
//! Every line is derived from events and [`StateProvider`] answers only, never from engine
//! internals, so a stored simulation renders exactly like the live run.

use std::io::{self, Write};

use serde_json::Value;

use super::RunSummary;
use crate::engine::config::Cents;
use crate::engine::event::{AgentIdx, AlgorithmResult, CostBreakdown, Event, EventKind, TxId};

use super::live::StateProvider;

/// Formats cents as `-1,234.56`.
pub fn format_cents(c: Cents) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    let units = (a / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{:02}", a % 100)
}

fn cost_parts(c: &CostBreakdown) -> String {
    let parts = [
        ("overdraft", c.liquidity_cost),
        ("delay", c.delay_cost),
        ("collateral", c.collateral_cost),
        ("penalty", c.penalty_cost),
        ("split", c.split_friction_cost),
        ("liquidity", c.liquidity_opportunity_cost),
    ];
    let shown: Vec<String> = parts.iter().filter(|(_, v)| *v != 0).map(|(k, v)| format!("{k} {}", format_cents(*v))).collect();
    if shown.is_empty() { "none".into() } else { shown.join(", ") }
}

/// What happened during the current day, tallied from events.
#[derive(Debug, Clone, Default)]
struct DayTally {
    arrivals: u32,
    settled: u32,
    settled_value: Cents,
    costs: Vec<CostBreakdown>,
}

/// Renders ticks as they come; keeps only per-day tallies.
#[derive(Debug)]
pub struct Renderer {
    names: Vec<String>,
    ticks_per_day: u32,
    day: DayTally,
    agent_filter: Option<AgentIdx>,
    type_filter: Vec<String>,
}

impl Renderer {
    /// A renderer for agents `names` (sorted ids).
    pub fn new(names: Vec<String>, ticks_per_day: u32) -> Self {
        let n = names.len();
        Renderer {
            names,
            ticks_per_day,
            day: DayTally { costs: vec![CostBreakdown::default(); n], ..Default::default() },
            agent_filter: None,
            type_filter: Vec::new(),
        }
    }

    /// Prints only events involving `agent` (and its state line) and of `event_types`
    /// (every type when empty). Day tallies still count every event.
    pub fn set_filter(&mut self, agent: Option<AgentIdx>, event_types: Vec<String>) {
        self.agent_filter = agent;
        self.type_filter = event_types;
    }

    fn shown(&self, e: &Event) -> bool {
        if !self.type_filter.is_empty() && !self.type_filter.iter().any(|t| t == e.kind.name()) {
            return false;
        }
        let Some(a) = self.agent_filter else { return true };
        let name = Value::String(self.names[a as usize].clone());
        let json = e.to_json(&self.names);
        ["agent_id", "sender", "sender_id", "receiver", "receiver_id", "agent_a", "agent_b"].iter().any(|k| json.get(*k) == Some(&name))
            || json.get("agents").and_then(Value::as_array).is_some_and(|v| v.contains(&name))
    }

    fn n(&self, a: AgentIdx) -> &str {
        &self.names[a as usize]
    }

    /// Writes one tick: header, one line per event, then every agent's state.
    pub fn render_tick(&mut self, out: &mut dyn Write, tick: u32, events: &[Event], state: &dyn StateProvider) -> io::Result<()> {
        let tpd = self.ticks_per_day;
        writeln!(out, "── tick {tick} · day {} · {}/{tpd} ──", tick / tpd, tick % tpd + 1)?;
        for e in events {
            if self.shown(e) {
                self.render_event(out, e, state)?;
            } else {
                self.render_event(&mut io::sink(), e, state)?;
            }
        }
        for (i, name) in state.agent_ids().iter().enumerate() {
            if self.agent_filter.is_some_and(|a| a as usize != i) {
                continue;
            }
            let s = state.agent(i as AgentIdx);
            let mut line = format!(
                "   {name:<16} balance {:>16}  Q1 {:>4} ({:>14})  Q2 {:>4} ({:>14})",
                format_cents(s.balance),
                s.queue1_count,
                format_cents(s.queue1_value),
                s.queue2_count,
                format_cents(s.queue2_value),
            );
            if s.posted_collateral != 0 {
                line.push_str(&format!("  collateral {}", format_cents(s.posted_collateral)));
            }
            line.push_str(&format!("  costs {}", format_cents(s.total_costs.total())));
            writeln!(out, "{line}")?;
        }
        writeln!(out, "   queue 2: {} payments", state.queue2_len())
    }

    fn render_event(&mut self, out: &mut dyn Write, e: &Event, state: &dyn StateProvider) -> io::Result<()> {
        use EventKind::*;
        let ids = |v: &[TxId]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        if let Some(s) = e.kind.settled() {
            self.day.settled += s.tx_ids.len() as u32;
            self.day.settled_value += s.value;
        }
        match &e.kind {
            Arrival { tx_id, sender_id, receiver_id, amount, deadline, priority, .. } => {
                self.day.arrivals += 1;
                writeln!(
                    out,
                    "  arrival     {tx_id}  {} → {}  {}  deadline {deadline}  priority {priority}",
                    self.n(*sender_id),
                    self.n(*receiver_id),
                    format_cents(*amount)
                )
            }
            PolicySubmit { agent_id, tx_id } => writeln!(out, "  submit      {tx_id}  by {}", self.n(*agent_id)),
            PolicyHold { agent_id, tx_id, reason } => writeln!(out, "  hold        {tx_id}  by {}: {reason}", self.n(*agent_id)),
            PolicyDrop { agent_id, tx_id, reason } => writeln!(out, "  drop        {tx_id}  by {}: {reason}", self.n(*agent_id)),
            PolicySplit { agent_id, tx_id, num_splits, child_ids } => {
                writeln!(out, "  split       {tx_id}  by {} into {num_splits}: {}", self.n(*agent_id), ids(child_ids))
            }
            TransactionReprioritized { agent_id, tx_id, old_priority, new_priority } => {
                writeln!(out, "  reprioritize {tx_id}  by {}: {old_priority} → {new_priority}", self.n(*agent_id))
            }
            PriorityEscalated { tx_id, original_priority, escalated_priority, ticks_until_deadline, .. } => {
                writeln!(out, "  escalate    {tx_id}  priority {original_priority} → {escalated_priority} ({ticks_until_deadline} ticks to deadline)")
            }
            RtgsSubmission { tx_id, amount, rtgs_priority, .. } => {
                writeln!(out, "  rtgs-submit {tx_id}  {}  ({})", format_cents(*amount), rtgs_priority.as_str())
            }
            RtgsWithdrawal { tx_id, sender, original_rtgs_priority } => {
                writeln!(out, "  withdraw    {tx_id}  by {} (was {})", self.n(*sender), original_rtgs_priority.as_str())
            }
            RtgsResubmission { tx_id, sender, old_rtgs_priority, new_rtgs_priority } => writeln!(
                out,
                "  resubmit    {tx_id}  by {}: {} → {}",
                self.n(*sender),
                old_rtgs_priority.map_or("None", |p| p.as_str()),
                new_rtgs_priority.as_str()
            ),
            BankBudgetSet { agent_id, max_value, .. } => {
                writeln!(out, "  budget      {}  release up to {}", self.n(*agent_id), format_cents(*max_value))
            }
            StateRegisterSet { agent_id, register_key, old_value, new_value, reason, .. } => {
                writeln!(out, "  register    {}  {register_key}: {old_value} → {new_value} ({reason})", self.n(*agent_id))
            }
            CollateralPost { agent_id, amount, reason, new_total } => {
                writeln!(out, "  collateral  {} posts {} ({reason}), total {}", self.n(*agent_id), format_cents(*amount), format_cents(*new_total))
            }
            CollateralWithdraw { agent_id, amount, reason, new_total } => {
                writeln!(out, "  collateral  {} withdraws {} ({reason}), total {}", self.n(*agent_id), format_cents(*amount), format_cents(*new_total))
            }
            CollateralTimerWithdrawn { agent_id, amount, original_reason, posted_at_tick, new_total } => writeln!(
                out,
                "  collateral  {} auto-withdraws {} (posted tick {posted_at_tick}, {original_reason}), total {}",
                self.n(*agent_id),
                format_cents(*amount),
                format_cents(*new_total)
            ),
            CollateralTimerBlocked { agent_id, requested_amount, reason, .. } => {
                writeln!(out, "  collateral  {} auto-withdrawal of {} blocked: {reason}", self.n(*agent_id), format_cents(*requested_amount))
            }
            RtgsImmediateSettlement { tx_id, sender, receiver, amount, sender_balance_before, sender_balance_after } => {
                let id = tx_id.map_or_else(|| "scheduled".to_owned(), |t| t.to_string());
                writeln!(
                    out,
                    "  settled     {id}  {} → {}  {}  RTGS  ({} → {})",
                    self.n(*sender),
                    self.n(*receiver),
                    format_cents(*amount),
                    format_cents(*sender_balance_before),
                    format_cents(*sender_balance_after)
                )
            }
            QueuedRtgs { tx_id, sender_id } => writeln!(out, "  queued      {tx_id}  {} lacks liquidity → Queue 2", self.n(*sender_id)),
            Queue2LiquidityRelease { tx_id, sender, receiver, amount, queue_wait_ticks } => {
                writeln!(
                    out,
                    "  settled     {tx_id}  {} → {}  {}  Queue 2 ({queue_wait_ticks} ticks since arrival)",
                    self.n(*sender),
                    self.n(*receiver),
                    format_cents(*amount)
                )
            }
            LsmQueue2Settlement { tx_id, sender, receiver, amount, .. } => {
                writeln!(out, "  settled     {tx_id}  {} → {}  {}  Queue 2 inside LSM", self.n(*sender), self.n(*receiver), format_cents(*amount))
            }
            LsmBilateralOffset { agent_a, agent_b, amount_a, amount_b, tx_ids, settled } => {
                writeln!(
                    out,
                    "  lsm-bilateral {} ⇄ {}  {} / {}  {}  [{}]",
                    self.n(*agent_a),
                    self.n(*agent_b),
                    format_cents(*amount_a),
                    format_cents(*amount_b),
                    if *settled { "settled" } else { "not fundable" },
                    ids(tx_ids)
                )
            }
            LsmBilateralSettlement { agent_a, agent_b, amount_a, amount_b, tx_ids } => {
                writeln!(
                    out,
                    "  lsm-bilateral {} ⇄ {}  {} / {}  settled on a later round  [{}]",
                    self.n(*agent_a),
                    self.n(*agent_b),
                    format_cents(*amount_a),
                    format_cents(*amount_b),
                    ids(tx_ids)
                )
            }
            LsmCycleSettlement { agents, total_value, tx_ids, .. } => {
                let path: Vec<&str> = agents.iter().map(|a| self.n(*a)).collect();
                writeln!(out, "  lsm-cycle   {}  total {}  [{}]", path.join(" → "), format_cents(*total_value), ids(tx_ids))
            }
            EntryDispositionOffset { incoming_tx_id, queued_tx_id, offset_amount, .. } => {
                writeln!(out, "  offset      {incoming_tx_id} against {queued_tx_id}  {}", format_cents(*offset_amount))
            }
            AlgorithmExecution { algorithm, result, settlements, settled_value } => writeln!(
                out,
                "  algorithm   {algorithm}: {} ({settlements} settlements, {})",
                if *result == AlgorithmResult::Success { "success" } else { "no progress" },
                format_cents(*settled_value)
            ),
            BilateralLimitExceeded { tx_id, sender, receiver, .. } => {
                writeln!(out, "  limit       {tx_id}  {} → {} bilateral limit exceeded", self.n(*sender), self.n(*receiver))
            }
            MultilateralLimitExceeded { tx_id, sender, .. } => {
                writeln!(out, "  limit       {tx_id}  {} multilateral limit exceeded", self.n(*sender))
            }
            CostAccrual { agent_id, costs } => {
                self.day.costs[*agent_id as usize].add(costs);
                writeln!(out, "  cost        {}  {}  ({})", self.n(*agent_id), format_cents(costs.total()), cost_parts(costs))
            }
            TransactionWentOverdue { tx_id, sender_id, receiver_id, deadline_tick, deadline_penalty_cost, .. } => writeln!(
                out,
                "  overdue     {tx_id}  {} → {}  deadline {deadline_tick}  penalty {}",
                self.n(*sender_id),
                self.n(*receiver_id),
                format_cents(*deadline_penalty_cost)
            ),
            OverdueTransactionSettled { tx_id, total_ticks_overdue, .. } => {
                writeln!(out, "  late        {tx_id}  settles {total_ticks_overdue} ticks after becoming overdue")
            }
            ScenarioEventExecuted { scenario_event_type, details_json } => {
                writeln!(out, "  scenario    {scenario_event_type} {details_json}")
            }
            DeferredCreditApplied { agent_id, amount, source_transactions } => {
                writeln!(out, "  credit      {} +{} deferred ({} payments)", self.n(*agent_id), format_cents(*amount), source_transactions.len())
            }
            LiquidityAllocation { agent_id, amount, balance_after, fraction, .. } => writeln!(
                out,
                "  liquidity   {} +{} from pool (fraction {fraction}), balance {}",
                self.n(*agent_id),
                format_cents(*amount),
                format_cents(*balance_after)
            ),
            LiquidityReturn { agent_id, amount, balance_after } => {
                writeln!(out, "  liquidity   {} -{} back to pool, balance {}", self.n(*agent_id), format_cents(*amount), format_cents(*balance_after))
            }
            EndOfDay { day, unsettled_count, total_penalties } => {
                let tally = std::mem::replace(&mut self.day, DayTally { costs: vec![CostBreakdown::default(); self.names.len()], ..Default::default() });
                writeln!(
                    out,
                    "══ end of day {day}: {} arrivals, {} settlements ({}), {unsettled_count} unsettled, end-of-day penalties {}",
                    tally.arrivals,
                    tally.settled,
                    format_cents(tally.settled_value),
                    format_cents(*total_penalties)
                )?;
                for (i, c) in tally.costs.iter().enumerate() {
                    let s = state.agent(i as AgentIdx);
                    writeln!(
                        out,
                        "   {:<16} day costs {:>14}  ({})  balance {}",
                        self.names[i],
                        format_cents(c.total()),
                        cost_parts(c),
                        format_cents(s.balance)
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Writes the final summary: settlement rate, costs per agent, event count. Deterministic;
/// wall time is reported separately (stderr) so live and replayed output can be identical.
pub fn render_summary(out: &mut dyn Write, summary: &RunSummary) -> io::Result<()> {
    let (ticks, stats, names, costs) = (summary.ticks, &summary.stats, &summary.agent_ids, &summary.costs);
    let pct = |a: f64, b: f64| if b > 0.0 { 100.0 * a / b } else { 100.0 };
    writeln!(out, "═══ summary: {ticks} ticks, {} agents, {} events", names.len(), stats.events)?;
    writeln!(
        out,
        "settlement rate {:.2}% ({} of {} payments), value {:.2}% ({} of {})",
        pct(stats.settled as f64, stats.arrivals as f64),
        stats.settled,
        stats.arrivals,
        pct(stats.settled_value as f64, stats.arrived_value as f64),
        format_cents(stats.settled_value),
        format_cents(stats.arrived_value)
    )?;
    writeln!(out, "costs per agent:")?;
    let mut total = CostBreakdown::default();
    for (name, c) in names.iter().zip(costs) {
        total.add(c);
        writeln!(out, "   {name:<16} {:>16}  ({})", format_cents(c.total()), cost_parts(c))?;
    }
    writeln!(out, "   {:<16} {:>16}  ({})", "total", format_cents(total.total()), cost_parts(&total))
}

#[cfg(test)]
mod tests {
    use super::format_cents;

    #[test]
    fn cents_are_grouped_with_two_decimals() {
        assert_eq!(format_cents(0), "0.00");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(123_456_789), "1,234,567.89");
        assert_eq!(format_cents(-100_000), "-1,000.00");
        assert_eq!(format_cents(99_999), "999.99");
    }
}
