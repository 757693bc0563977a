//! Scheduled scenario events (step 0.5, ENGINE-SPEC §7), executed in configuration order.

use serde_json::{Map, Value, json};

use super::config::ScenarioEvent;
use super::event::{AgentIdx, EventKind};
use super::{Engine, EngineError};

/// `details_json` with keys sorted, as SimCash writes it.
fn details(pairs: Vec<(&str, Value)>) -> String {
    let mut sorted: Vec<_> = pairs;
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let m: Map<String, Value> = sorted.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Value::Object(m).to_string()
}

impl Engine {
    fn agent_index(&self, id: &str) -> AgentIdx {
        // Scenario validation guarantees every referenced agent exists.
        self.agents.binary_search_by(|a| a.id.as_str().cmp(id)).expect("validated agent id") as AgentIdx
    }

    pub(crate) fn run_scenario_events(&mut self) -> Result<(), EngineError> {
        let t = self.tick;
        let due: Vec<ScenarioEvent> = self.cfg.scenario_events.iter().filter(|e| e.schedule.fires_at(t)).map(|e| e.event.clone()).collect();
        for ev in due {
            self.run_scenario_event(ev)?;
        }
        Ok(())
    }

    fn run_scenario_event(&mut self, ev: ScenarioEvent) -> Result<(), EngineError> {
        let t = self.tick;
        let (kind, details_json) = match ev {
            ScenarioEvent::DirectTransfer { from_agent, to_agent, amount } => {
                let (f, to) = (self.agent_index(&from_agent), self.agent_index(&to_agent));
                self.agents[f as usize].balance -= amount;
                self.agents[to as usize].balance += amount;
                ("direct_transfer", details(vec![("from_agent", json!(from_agent)), ("to_agent", json!(to_agent)), ("amount", json!(amount))]))
            }
            ScenarioEvent::CustomTransactionArrival { from_agent, to_agent, amount, priority, deadline, is_divisible } => {
                let (f, to) = (self.agent_index(&from_agent), self.agent_index(&to_agent));
                let rel = deadline.unwrap_or_else(|| (self.cfg.ticks_per_day / 10).max(5));
                let uncapped = t + rel;
                let capped = self.cap_deadline(uncapped, true);
                let id = self.create_transaction(f, to, amount, capped, priority);
                self.emit(EventKind::Arrival { tx_id: id, sender_id: f, receiver_id: to, amount, deadline: capped, priority, is_divisible });
                (
                    "custom_transaction_arrival",
                    details(vec![
                        ("amount", json!(amount)),
                        ("deadline", json!(uncapped)),
                        ("from_agent", json!(from_agent)),
                        ("is_divisible", json!(is_divisible)),
                        ("priority", json!(priority)),
                        ("to_agent", json!(to_agent)),
                        ("tx_id", json!(id.to_string())),
                    ]),
                )
            }
            ScenarioEvent::CollateralAdjustment { agent, delta } => {
                let i = self.agent_index(&agent);
                let a = &mut self.agents[i as usize];
                let result = a.unsecured_cap + delta;
                if result < 0 {
                    return Err(EngineError::NegativeUnsecuredCap { tick: t, agent, delta, result });
                }
                a.unsecured_cap = result;
                ("collateral_adjustment", details(vec![("agent", json!(agent)), ("delta", json!(delta))]))
            }
            ScenarioEvent::GlobalArrivalRateChange { multiplier } => {
                let mut any = false;
                for a in &mut self.agents {
                    for s in &mut a.arrivals {
                        s.rate = s.base_rate * multiplier;
                        any = true;
                    }
                }
                if !any {
                    return Ok(());
                }
                ("global_arrival_rate_change", details(vec![("multiplier", json!(multiplier))]))
            }
            ScenarioEvent::AgentArrivalRateChange { agent, multiplier } => {
                let i = self.agent_index(&agent);
                let streams = &mut self.agents[i as usize].arrivals;
                let Some(old_rate) = streams.first().map(|s| s.rate) else { return Ok(()) };
                for s in streams.iter_mut() {
                    s.rate *= multiplier;
                    s.base_rate = s.rate;
                }
                let new_rate = streams[0].rate;
                (
                    "agent_arrival_rate_change",
                    details(vec![("agent", json!(agent)), ("multiplier", json!(multiplier)), ("old_rate", json!(old_rate)), ("new_rate", json!(new_rate))]),
                )
            }
            ScenarioEvent::CounterpartyWeightChange { agent, counterparty, new_weight } => {
                let i = self.agent_index(&agent);
                let c = self.agent_index(&counterparty);
                for s in &mut self.agents[i as usize].arrivals {
                    if let Some(entry) = s.candidates.iter_mut().find(|(idx, _)| *idx == c) {
                        entry.1 = new_weight;
                    }
                    s.weighted = true;
                }
                ("counterparty_weight_change", details(vec![("agent", json!(agent)), ("counterparty", json!(counterparty)), ("new_weight", json!(new_weight))]))
            }
            ScenarioEvent::DeadlineWindowChange { min_ticks_multiplier, max_ticks_multiplier } => {
                for a in &mut self.agents {
                    for s in &mut a.arrivals {
                        let (lo, hi) = s.config.deadline_range;
                        let scale = |v: u32, m: Option<f64>| m.map_or(v, |m| ((v as f64 * m).round() as u32).max(1));
                        let (lo, hi) = (scale(lo, min_ticks_multiplier), scale(hi, max_ticks_multiplier));
                        s.config.deadline_range = (lo, hi.max(lo));
                    }
                }
                let mut d = Vec::new();
                if let Some(m) = min_ticks_multiplier {
                    d.push(("min_ticks_multiplier", json!(m)));
                }
                if let Some(m) = max_ticks_multiplier {
                    d.push(("max_ticks_multiplier", json!(m)));
                }
                ("deadline_window_change", details(d))
            }
            ScenarioEvent::ScheduledSettlement { from_agent, to_agent, amount } => {
                let (f, to) = (self.agent_index(&from_agent), self.agent_index(&to_agent));
                let mut d = vec![("amount", json!(amount)), ("from_agent", json!(from_agent)), ("to_agent", json!(to_agent))];
                if self.agents[f as usize].can_pay(amount) {
                    let before = self.agents[f as usize].balance;
                    self.agents[f as usize].balance -= amount;
                    self.agents[to as usize].balance += amount;
                    self.emit(EventKind::RtgsImmediateSettlement {
                        tx_id: None,
                        sender: f,
                        receiver: to,
                        amount,
                        sender_balance_before: before,
                        sender_balance_after: before - amount,
                    });
                    d.push(("settled", json!(true)));
                } else {
                    d.push(("settled", json!(false)));
                    d.push(("reason", json!("insufficient_liquidity")));
                }
                ("scheduled_settlement", details(d))
            }
        };
        self.emit(EventKind::ScenarioEventExecuted { scenario_event_type: kind, details_json: details_json.into() });
        Ok(())
    }
}
