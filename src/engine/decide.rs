//! The policy phases of a tick (ENGINE-SPEC §2): strategic collateral (1.5), bank trees
//! (1.75), collateral timers (1.8), Queue-1 decisions (2), Queue-2 re-evaluation (2b) and
//! end-of-tick collateral (5.6). Trees decide against one snapshot; the engine applies.

use std::sync::Arc;

use super::config::{Cents, PriorityEscalation};
use super::context::{AgentCache, PolicyContext, SystemCache, dummy_tx};
use super::event::{AgentIdx, EventKind, HoldReason, RtgsPriority, TxId};
use super::model::{CollateralTimer, ReleaseBudget};
use super::policy::eval::{self, EvalError, NodeError};
use super::policy::tree::{Action, Node, TreeKind, TreePolicy, Value};
use super::{Engine, EngineError};

/// Registers an agent may hold at once.
const MAX_REGISTERS: usize = 10;

/// What to do with one payment, with every parameter evaluated.
#[derive(Debug, Clone, PartialEq)]
enum Decision {
    Release { priority: Option<u8>, timed_for_tick: Option<u32> },
    Hold(HoldReason),
    Drop,
    Split(u32),
    StaggerSplit { n: u32, first_now: u32, priority_boost: u8 },
    Reprioritize(u8),
    WithdrawFromRtgs,
    ResubmitToRtgs(RtgsPriority),
}

/// What a collateral tree decided.
enum CollateralDecision {
    Post { amount: Cents, reason: Arc<str>, auto_withdraw_after: Option<u32> },
    Withdraw { amount: Cents, reason: Arc<str> },
    Hold,
}

fn num(v: &Value, ctx: &PolicyContext<'_>) -> Result<f64, EvalError> {
    eval::value(v, ctx)
}

/// `f64 as u8`, saturating like SimCash's conversions.
fn to_u8(x: f64) -> u8 {
    x.clamp(0.0, 255.0) as u8
}

fn splits(v: &Value, ctx: &PolicyContext<'_>) -> Result<u32, EvalError> {
    let n = num(v, ctx)?;
    if n < 2.0 {
        return Err(EvalError::InvalidParameter(format!("num_splits must be >= 2 (computed {n})")));
    }
    Ok(n.min(u32::MAX as f64) as u32)
}

fn hold_reason(reason: Option<&str>, ctx: &PolicyContext<'_>) -> HoldReason {
    match reason {
        None => HoldReason::Custom("Policy decision".into()),
        Some("InsufficientLiquidity") => HoldReason::InsufficientLiquidity,
        Some("AwaitingInflows") => HoldReason::AwaitingInflows,
        Some("LowPriority") => HoldReason::LowPriority,
        Some("NearDeadline") => {
            let k = eval::Context::field(ctx, &super::policy::field::Field::TicksToDeadline);
            HoldReason::NearDeadline { ticks_remaining: k.max(0.0) as u32 }
        }
        Some(other) => HoldReason::Custom(other.into()),
    }
}

fn payment_decision(action: &Action, ctx: &PolicyContext<'_>) -> Result<Decision, EvalError> {
    Ok(match action {
        Action::Release { priority_flag, timed_for_tick } => {
            Decision::Release { priority: *priority_flag, timed_for_tick: timed_for_tick.as_ref().map(|v| num(v, ctx).map(|t| t.max(0.0) as u32)).transpose()? }
        }
        Action::Hold { reason } => Decision::Hold(hold_reason(reason.as_deref(), ctx)),
        Action::Drop => Decision::Drop,
        Action::Split { num_splits } => Decision::Split(splits(num_splits, ctx)?),
        Action::StaggerSplit { num_splits, first_now, gap_ticks, priority_boost } => {
            let n = splits(num_splits, ctx)?;
            let first_now = num(first_now, ctx)?.max(0.0) as u32;
            if first_now > n {
                return Err(EvalError::InvalidParameter("stagger_first_now cannot exceed num_splits".into()));
            }
            num(gap_ticks, ctx)?; // evaluated for its errors; SimCash ignores the release tick
            Decision::StaggerSplit { n, first_now, priority_boost: to_u8(num(priority_boost, ctx)?) }
        }
        Action::Reprioritize { new_priority } => Decision::Reprioritize(to_u8(num(new_priority, ctx)?)),
        Action::WithdrawFromRtgs => Decision::WithdrawFromRtgs,
        Action::ResubmitToRtgs { rtgs_priority } => Decision::ResubmitToRtgs(*rtgs_priority),
        // Validation keeps collateral and bank actions out of payment trees.
        _ => Decision::Hold(HoldReason::Custom("Policy decision".into())),
    })
}

fn leaf(node: &Node) -> (&Arc<str>, &Action) {
    match node {
        Node::Action { id, action } => (id, action),
        Node::Condition { .. } => unreachable!("walk ends at an action"),
    }
}

impl Engine {
    fn policy_error(&self, agent: usize, e: NodeError) -> EngineError {
        let policy = self.agents[agent].policy.tree().map_or("Fifo".to_owned(), |t| t.policy_id.clone());
        EngineError::Policy { tick: self.tick, agent: self.agents[agent].id.clone(), policy, message: e.to_string() }
    }

    fn tree_of(&self, agent: usize) -> Option<Arc<TreePolicy>> {
        match &self.agents[agent].policy {
            super::policy::Policy::Tree(t) => Some(t.clone()),
            super::policy::Policy::Fifo => None,
        }
    }

    /// Evaluates the payment tree for `ids` of one agent against the current state.
    fn payment_decisions(&self, agent: usize, tree: &TreePolicy, ids: &[TxId]) -> Vec<(TxId, Result<Decision, NodeError>)> {
        let root = tree.payment.as_ref().expect("validation requires a payment tree");
        let (cache, system) = (AgentCache::default(), SystemCache::default());
        ids.iter()
            .map(|&id| {
                let ctx =
                    PolicyContext { e: self, agent: &self.agents[agent], idx: agent as AgentIdx, tx: Some(&self.txs[id]), cache: &cache, system: &system };
                let d = eval::walk(root, &ctx, None).and_then(|n| {
                    let (node, action) = leaf(n);
                    payment_decision(action, &ctx).map_err(|error| NodeError { node: node.clone(), error })
                });
                (id, d)
            })
            .collect()
    }

    /// Step 2: every agent with a non-empty Queue 1 decides on each payment, then applies the
    /// decisions in queue order.
    pub(crate) fn evaluate_queue1(&mut self) -> Result<(), EngineError> {
        let active: Vec<usize> = (0..self.agents.len()).filter(|&i| !self.agents[i].queue1.is_empty()).collect();
        if let Some(esc) = self.cfg.extensions.priority_escalation {
            self.escalate_priorities(esc);
        }
        if self.cfg.extensions.queue1_priority_deadline {
            let txs = &self.txs;
            for a in &mut self.agents {
                a.queue1.sort_by_key(|id| {
                    let tx = &txs[id];
                    (std::cmp::Reverse(tx.priority), tx.deadline)
                });
            }
        }
        for i in active {
            let decisions: Vec<(TxId, Decision)> = match self.tree_of(i) {
                None => self.agents[i].queue1.iter().map(|&id| (id, Decision::Release { priority: None, timed_for_tick: None })).collect(),
                Some(tree) => {
                    let ids = self.agents[i].queue1.clone();
                    let mut out = Vec::with_capacity(ids.len());
                    for (id, d) in self.payment_decisions(i, &tree, &ids) {
                        out.push((id, d.map_err(|e| self.policy_error(i, e))?));
                    }
                    out
                }
            };
            let mut keep = Vec::with_capacity(decisions.len());
            let mut appended = Vec::new();
            for (id, d) in decisions {
                if !self.apply_decision(i as AgentIdx, id, d, &mut appended)? {
                    keep.push(id);
                }
            }
            keep.extend(appended);
            self.agents[i].queue1 = keep;
        }
        Ok(())
    }

    /// Applies one Queue-1 decision; returns whether the payment left Queue 1. Payments that
    /// join Queue 1 (staggered split children) go to `appended`.
    fn apply_decision(&mut self, agent: AgentIdx, id: TxId, d: Decision, appended: &mut Vec<TxId>) -> Result<bool, EngineError> {
        Ok(match d {
            Decision::Release { priority, timed_for_tick } => {
                if timed_for_tick.is_some_and(|t| t > self.tick) {
                    return Ok(false);
                }
                let tx = &self.txs[id];
                let (receiver, amount) = (tx.receiver, tx.remaining);
                if !self.agents[agent as usize].budget.take(receiver, amount) {
                    self.emit(EventKind::PolicyHold { agent_id: agent, tx_id: id, reason: HoldReason::BudgetExhausted });
                    return Ok(false);
                }
                if let Some(p) = priority {
                    self.txs[id].priority = p;
                }
                self.release_to_rtgs(id, true);
                self.emit(EventKind::PolicySubmit { agent_id: agent, tx_id: id });
                true
            }
            Decision::Hold(reason) => {
                self.emit(EventKind::PolicyHold { agent_id: agent, tx_id: id, reason });
                false
            }
            Decision::Drop => {
                let t = self.tick;
                let tx = &mut self.txs[id];
                tx.dropped = true;
                tx.overdue_since.get_or_insert(t);
                self.txs.finish(id);
                self.emit(EventKind::PolicyDrop { agent_id: agent, tx_id: id, reason: "Expired deadline".into() });
                true
            }
            Decision::Split(n) => {
                self.split(agent, id, n, None, appended)?;
                true
            }
            Decision::StaggerSplit { n, first_now, priority_boost } => {
                self.split(agent, id, n, Some((first_now, priority_boost)), appended)?;
                true
            }
            Decision::Reprioritize(p) => {
                let tx = &mut self.txs[id];
                let old = tx.priority;
                tx.priority = p.min(10);
                let new = tx.priority;
                self.emit(EventKind::TransactionReprioritized { agent_id: agent, tx_id: id, old_priority: old, new_priority: new });
                false
            }
            Decision::WithdrawFromRtgs => {
                let reason = HoldReason::Engine(format!("WithdrawFromRtgs failed: Settlement error: Transaction {id} not found in RTGS Queue 2").into());
                self.emit(EventKind::PolicyHold { agent_id: agent, tx_id: id, reason });
                false
            }
            Decision::ResubmitToRtgs(p) => {
                // SimCash appends a second copy of the id to Queue 1 here; simcash keeps
                // one copy and records the declared priority the same way.
                self.declare_rtgs_priority(id, p);
                false
            }
        })
    }

    /// Raises the priority of every queued payment as its deadline nears (ENGINE-SPEC §9.4),
    /// in transaction order (SimCash's order there is a hash map's).
    fn escalate_priorities(&mut self, esc: PriorityEscalation) {
        let t = self.tick;
        let mut ids: Vec<TxId> = self.agents.iter().flat_map(|a| a.queue1.iter().copied()).chain(self.queue2.iter().copied()).collect();
        ids.sort();
        for id in ids {
            let tx = &mut self.txs[id];
            let left = tx.deadline.saturating_sub(t);
            if left > esc.start_escalating_at_ticks || esc.start_escalating_at_ticks == 0 {
                continue;
            }
            let boost = (esc.max_boost as f64 * (1.0 - left as f64 / esc.start_escalating_at_ticks as f64)).round() as u8;
            let escalated = tx.original_priority.saturating_add(boost).min(10);
            if escalated <= tx.priority {
                continue;
            }
            tx.priority = escalated;
            let kind = EventKind::PriorityEscalated {
                tx_id: id,
                sender_id: tx.sender,
                original_priority: tx.original_priority,
                escalated_priority: escalated,
                ticks_until_deadline: left as i64,
                boost_applied: boost,
            };
            self.emit(kind);
        }
    }

    fn declare_rtgs_priority(&mut self, id: TxId, p: RtgsPriority) {
        let tx = &mut self.txs[id];
        let old = tx.declared_rtgs_priority.replace(p);
        let sender = tx.sender;
        self.emit(EventKind::RtgsResubmission { tx_id: id, sender, old_rtgs_priority: old, new_rtgs_priority: p });
    }

    /// Step 2b: each agent's payment tree sees its Queue-2 payments; only WithdrawFromRtgs and
    /// ResubmitToRtgs act, every other decision (and every evaluation error) is ignored.
    pub(crate) fn evaluate_queue2(&mut self) {
        let mut acts = Vec::new();
        for i in 0..self.agents.len() {
            if self.agents[i].queue2_index.is_empty() {
                continue;
            }
            let Some(tree) = self.tree_of(i).filter(|t| t.acts_on_queue2) else { continue };
            let ids = self.agents[i].queue2_index.clone();
            for (id, d) in self.payment_decisions(i, &tree, &ids) {
                if let Ok(d @ (Decision::WithdrawFromRtgs | Decision::ResubmitToRtgs(_))) = d {
                    acts.push((id, d));
                }
            }
        }
        for (id, d) in acts {
            let tx = &self.txs[id];
            let Some(original) = tx.rtgs_priority.filter(|_| tx.settled_tick.is_none()) else { continue };
            let sender = tx.sender;
            self.queue2.retain(|&q| q != id);
            let tx = &mut self.txs[id];
            tx.rtgs_priority = None;
            tx.rtgs_submission_tick = None;
            self.emit(EventKind::RtgsWithdrawal { tx_id: id, sender, original_rtgs_priority: original });
            if let Decision::ResubmitToRtgs(p) = d {
                self.declare_rtgs_priority(id, p);
                self.agents[sender as usize].queue1.push(id);
            }
            // A plain withdrawal leaves the payment in no queue, as in SimCash.
        }
    }

    /// Step 1.75: bank trees set release budgets and registers. Without a bank tree, or on
    /// `NoAction`, the budget is unlimited; `SetState`/`AddState` keep the budget of an
    /// earlier tick with what it has already spent, as in SimCash.
    pub(crate) fn evaluate_bank_trees(&mut self) -> Result<(), EngineError> {
        for i in 0..self.agents.len() {
            let tree = self.tree_of(i);
            let Some(root) = tree.as_ref().and_then(|t| t.bank.as_ref()) else {
                self.agents[i].budget = ReleaseBudget::default();
                continue;
            };
            let (cache, system) = (AgentCache::default(), SystemCache::default());
            let ctx = PolicyContext { e: self, agent: &self.agents[i], idx: i as AgentIdx, tx: None, cache: &cache, system: &system };
            let mut path = String::new();
            let node = eval::walk(root, &ctx, Some(&mut path)).map_err(|e| self.policy_error(i, e))?;
            let (node_id, action) = leaf(node);
            let at = |error| NodeError { node: node_id.clone(), error };
            match action {
                Action::SetReleaseBudget { max_value, focus, max_per_counterparty } => {
                    let max_value = num(max_value, &ctx).map_err(at).map_err(|e| self.policy_error(i, e))? as Cents;
                    let cap =
                        max_per_counterparty.as_ref().map(|v| num(v, &ctx).map(|x| x as Cents)).transpose().map_err(at).map_err(|e| self.policy_error(i, e))?;
                    let focus: Option<Vec<AgentIdx>> =
                        focus.as_ref().map(|ids| ids.iter().filter_map(|id| self.agents.iter().position(|a| &a.id == id)).map(|p| p as AgentIdx).collect());
                    self.agents[i].budget =
                        ReleaseBudget { remaining: Some(max_value), focus: focus.clone(), per_counterparty: cap.map(|c| (c, Default::default())) };
                    self.emit(EventKind::BankBudgetSet { agent_id: i as AgentIdx, max_value, focus_counterparties: focus, max_per_counterparty: cap });
                }
                Action::SetState { key, value, reason, add } => {
                    let v = num(value, &ctx).map_err(at).map_err(|e| self.policy_error(i, e))?;
                    self.set_register(i, key, v, *add, reason, Some(path.into()));
                }
                _ => self.agents[i].budget = ReleaseBudget::default(),
            }
        }
        Ok(())
    }

    /// Sets (or adds to) a register and reports it; keys outside `bank_state_*` and an 11th
    /// register are ignored, as in SimCash.
    fn set_register(&mut self, i: usize, key: &Arc<str>, v: f64, add: bool, reason: &Arc<str>, path: Option<Arc<str>>) {
        if !key.starts_with("bank_state_") {
            return;
        }
        let regs = &mut self.agents[i].registers;
        let slot = match regs.iter().position(|(k, _)| k == key) {
            Some(p) => p,
            None if regs.len() < MAX_REGISTERS => {
                regs.push((key.clone(), 0.0));
                regs.len() - 1
            }
            None => return,
        };
        let old = regs[slot].1;
        let new = if add { old + v } else { v };
        regs[slot].1 = new;
        self.emit(EventKind::StateRegisterSet {
            agent_id: i as AgentIdx,
            register_key: key.clone(),
            old_value: old,
            new_value: new,
            reason: reason.clone(),
            decision_path: path,
        });
    }

    /// End of day: every register back to 0, one event each, in order of first use.
    pub(crate) fn reset_registers(&mut self) {
        for i in 0..self.agents.len() {
            for (key, old) in std::mem::take(&mut self.agents[i].registers) {
                self.emit(EventKind::StateRegisterSet {
                    agent_id: i as AgentIdx,
                    register_key: key,
                    old_value: old,
                    new_value: 0.0,
                    reason: "eod_reset".into(),
                    decision_path: None,
                });
            }
        }
    }

    /// Steps 1.5 and 5.6: collateral trees, evaluated on a dummy payment.
    pub(crate) fn evaluate_collateral_trees(&mut self, kind: TreeKind) -> Result<(), EngineError> {
        for i in 0..self.agents.len() {
            let Some(tree) = self.tree_of(i) else { continue };
            let Some(root) = tree.tree(kind) else { continue };
            let dummy = dummy_tx(i as AgentIdx, self.tick);
            let (cache, system) = (AgentCache::default(), SystemCache::default());
            let ctx = PolicyContext { e: self, agent: &self.agents[i], idx: i as AgentIdx, tx: Some(&dummy), cache: &cache, system: &system };
            let decision = eval::walk(root, &ctx, None).and_then(|n| {
                let (node, action) = leaf(n);
                let at = |error| NodeError { node: node.clone(), error };
                let amount = |v: &Value| num(v, &ctx).map(|x| x as Cents).map_err(at);
                Ok(match action {
                    Action::PostCollateral { amount: a, reason, auto_withdraw_after_ticks } => {
                        let amount = amount(a)?;
                        let after = auto_withdraw_after_ticks.as_ref().map(|v| num(v, &ctx).map_err(at)).transpose()?;
                        if amount <= 0 {
                            CollateralDecision::Hold
                        } else {
                            CollateralDecision::Post { amount, reason: reason.clone(), auto_withdraw_after: after.filter(|k| *k > 0.0).map(|k| k as u32) }
                        }
                    }
                    Action::WithdrawCollateral { amount: a, reason } => {
                        let amount = amount(a)?;
                        if amount <= 0 { CollateralDecision::Hold } else { CollateralDecision::Withdraw { amount, reason: reason.clone() } }
                    }
                    _ => CollateralDecision::Hold,
                })
            });
            match decision.map_err(|e| self.policy_error(i, e))? {
                CollateralDecision::Hold => {}
                CollateralDecision::Post { amount, reason, auto_withdraw_after } => {
                    let t = self.tick;
                    let a = &mut self.agents[i];
                    let room = a.remaining_collateral_capacity();
                    if amount > room {
                        return Err(EngineError::CollateralCapacity { tick: t, agent: a.id.clone(), amount, remaining: room });
                    }
                    a.posted_collateral += amount;
                    let new_total = a.posted_collateral;
                    if let Some(k) = auto_withdraw_after {
                        a.collateral_timers.entry(t + k).or_default().push(CollateralTimer { amount, reason: reason.clone(), posted_at_tick: t });
                    }
                    self.emit(EventKind::CollateralPost { agent_id: i as AgentIdx, amount, reason, new_total });
                }
                CollateralDecision::Withdraw { amount, reason } => {
                    let a = &mut self.agents[i];
                    let amount = amount.min(a.posted_collateral);
                    if amount <= 0 {
                        continue;
                    }
                    a.posted_collateral -= amount;
                    let new_total = a.posted_collateral;
                    self.emit(EventKind::CollateralWithdraw { agent_id: i as AgentIdx, amount, reason, new_total });
                }
            }
        }
        Ok(())
    }

    /// Step 1.8: automatic withdrawals due now, limited to what keeps the overdraft covered.
    pub(crate) fn run_collateral_timers(&mut self) {
        let t = self.tick;
        for i in 0..self.agents.len() {
            let Some(timers) = self.agents[i].collateral_timers.remove(&t) else { continue };
            for timer in timers {
                let a = &mut self.agents[i];
                let used = a.credit_used() + 100;
                let beyond = (used - a.unsecured_cap.min(used)).max(0);
                let needed = (beyond as f64 / (1.0 - a.collateral_haircut)).ceil() as Cents;
                let max_safe = a.posted_collateral - needed;
                if max_safe <= 0 {
                    let (credit_used, limit) = (a.credit_used(), a.allowed_overdraft_limit());
                    let reason =
                        format!("No headroom available for withdrawal: credit_used={credit_used}, allowed_limit={limit}, headroom={}", limit - credit_used);
                    self.emit(EventKind::CollateralTimerBlocked {
                        agent_id: i as AgentIdx,
                        requested_amount: timer.amount,
                        reason: reason.into(),
                        original_reason: timer.reason,
                        posted_at_tick: timer.posted_at_tick,
                    });
                    continue;
                }
                let amount = timer.amount.min(max_safe).min(a.posted_collateral);
                a.posted_collateral -= amount;
                let new_total = a.posted_collateral;
                self.emit(EventKind::CollateralTimerWithdrawn {
                    agent_id: i as AgentIdx,
                    amount,
                    original_reason: timer.reason,
                    posted_at_tick: timer.posted_at_tick,
                    new_total,
                });
            }
        }
    }
}
