//! Decision-tree policies (ENGINE-SPEC §6) through the library: every payment action, the
//! collateral and bank trees, the built-in policies, each family of context fields, and
//! `arrival_bands`. Scenarios are tiny inline YAML; expectations are worked out by hand from
//! the SPEC (the numbers in the comments), not copied from a run.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use simcash::engine::event::{AgentIdx, CostBreakdown, EventKind, RtgsPriority, TxId};
use simcash::engine::{Engine, EngineError};
use simcash::scenario::load_str;

use crate::util::{data, simcash, stderr};

// Agents are indexed in sorted-id order.
const A: AgentIdx = 0;
const B: AgentIdx = 1;
const C: AgentIdx = 2;

fn tx(n: u32) -> TxId {
    TxId(n)
}

// ---------------------------------------------------------------------------------------
// Tree builders.

fn field(name: &str) -> Value {
    json!({ "field": name })
}

fn val(x: impl Into<Value>) -> Value {
    json!({ "value": x.into() })
}

fn act(id: &str, action: &str) -> Value {
    json!({"type": "action", "node_id": id, "action": action})
}

fn actp(id: &str, action: &str, parameters: Value) -> Value {
    json!({"type": "action", "node_id": id, "action": action, "parameters": parameters})
}

fn hold(id: &str, reason: &str) -> Value {
    actp(id, "Hold", json!({"reason": val(reason)}))
}

/// `if left OP right then on_true else on_false`.
fn when(id: &str, left: Value, op: &str, right: Value, on_true: Value, on_false: Value) -> Value {
    json!({"type": "condition", "node_id": id, "condition": {"op": op, "left": left, "right": right},
           "on_true": on_true, "on_false": on_false})
}

/// A chain of checks `field OP value`; the first failing one holds with the field's name as
/// reason, so a failure says which field is off. All pass ⇒ `leaf`.
fn checks(prefix: &str, list: &[(&str, &str, f64)], leaf: Value) -> Value {
    let mut node = leaf;
    for (k, (f, op, x)) in list.iter().enumerate().rev() {
        node = when(&format!("{prefix}{k}"), field(f), op, val(*x), node, hold(&format!("{prefix}H{k}"), f));
    }
    node
}

fn doc(payment: Value) -> Value {
    json!({"version": "1.0", "policy_id": "t", "payment_tree": payment})
}

/// `policy:` entry for an InlineJson document.
fn inline(d: &Value) -> String {
    format!("policy: {{type: InlineJson, json_string: '{d}'}}")
}

// ---------------------------------------------------------------------------------------
// Scenario builder.

struct Sc {
    tpd: u32,
    days: u32,
    agents: Vec<String>,
    events: Vec<String>,
    extra: String,
}

impl Sc {
    fn new(tpd: u32, days: u32) -> Sc {
        Sc { tpd, days, agents: Vec::new(), events: Vec::new(), extra: String::new() }
    }

    /// An agent; `more` is extra flow-mapping content (`unsecured_cap: 5, policy: …`).
    fn agent(mut self, id: &str, balance: i64, more: &str) -> Sc {
        let sep = if more.is_empty() { "" } else { ", " };
        self.agents.push(format!("  - {{id: {id}, opening_balance: {balance}{sep}{more}}}"));
        self
    }

    /// A scripted payment at `tick` with a relative deadline.
    fn pay(mut self, tick: u32, from: &str, to: &str, amount: i64, deadline: u32, priority: u8) -> Sc {
        self.events.push(format!(
            "  - {{type: CustomTransactionArrival, from_agent: {from}, to_agent: {to}, amount: {amount}, \
             deadline: {deadline}, priority: {priority}, schedule: {{type: OneTime, tick: {tick}}}}}"
        ));
        self
    }

    fn event(mut self, e: &str) -> Sc {
        self.events.push(format!("  - {e}"));
        self
    }

    fn top(mut self, text: &str) -> Sc {
        self.extra.push_str(text);
        self.extra.push('\n');
        self
    }

    fn yaml(&self) -> String {
        let mut s = format!("simulation: {{ticks_per_day: {}, num_days: {}, rng_seed: 7}}\n", self.tpd, self.days);
        s.push_str(&self.extra);
        s.push_str("agents:\n");
        for a in &self.agents {
            s.push_str(a);
            s.push('\n');
        }
        if !self.events.is_empty() {
            s.push_str("scenario_events:\n");
            for e in &self.events {
                s.push_str(e);
                s.push('\n');
            }
        }
        s
    }

    fn engine(&self) -> Engine {
        let yaml = self.yaml();
        let sc = load_str("policies-test.yaml", &yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        Engine::new(sc.config).unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Event helpers.

fn step(e: &mut Engine) -> Vec<EventKind> {
    e.step().unwrap_or_else(|err| panic!("tick {}: {err}", e.current_tick()));
    e.tick_events().iter().map(|ev| ev.kind.clone()).collect()
}

fn names(evs: &[EventKind]) -> Vec<&'static str> {
    evs.iter().map(EventKind::name).collect()
}

fn holds(evs: &[EventKind]) -> Vec<(TxId, String)> {
    evs.iter()
        .filter_map(|e| match e {
            EventKind::PolicyHold { tx_id, reason, .. } => Some((*tx_id, reason.to_string())),
            _ => None,
        })
        .collect()
}

fn submits(evs: &[EventKind]) -> Vec<TxId> {
    evs.iter()
        .filter_map(|e| match e {
            EventKind::PolicySubmit { tx_id, .. } => Some(*tx_id),
            _ => None,
        })
        .collect()
}

fn settled_ids(evs: &[EventKind]) -> Vec<TxId> {
    evs.iter()
        .filter_map(|e| match e {
            EventKind::RtgsImmediateSettlement { tx_id: Some(t), .. } => Some(*t),
            EventKind::Queue2LiquidityRelease { tx_id, .. } => Some(*tx_id),
            _ => None,
        })
        .collect()
}

fn rtgs_submissions(evs: &[EventKind]) -> Vec<(TxId, i64, u8, RtgsPriority)> {
    evs.iter()
        .filter_map(|e| match e {
            EventKind::RtgsSubmission { tx_id, amount, internal_priority, rtgs_priority, .. } => Some((*tx_id, *amount, *internal_priority, *rtgs_priority)),
            _ => None,
        })
        .collect()
}

fn position(evs: &[EventKind], name: &str) -> usize {
    evs.iter().position(|e| e.name() == name).unwrap_or_else(|| panic!("no {name} in {:?}", names(evs)))
}

/// The tick at which each listed transaction was submitted by the policy (PolicySubmit).
fn submit_ticks(e: &mut Engine, ticks: u32, ids: &[TxId]) -> Vec<Option<u32>> {
    let mut out = vec![None; ids.len()];
    for _ in 0..ticks {
        let t = e.current_tick();
        for s in submits(&step(e)) {
            if let Some(k) = ids.iter().position(|i| *i == s) {
                out[k].get_or_insert(t);
            }
        }
    }
    out
}

const FIFO_B: i64 = 0;

// =======================================================================================
// Payment actions (§6.5).

#[test]
fn release_submits_to_rtgs_then_settles_immediately() {
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(act("A1", "Release")))).agent("B", FIFO_B, "").pay(0, "A", "B", 600, 3, 5).engine();
    let evs = step(&mut e);
    let n = names(&evs);
    let i = position(&evs, "RtgsSubmission");
    assert_eq!(&n[i..i + 3], ["RtgsSubmission", "PolicySubmit", "RtgsImmediateSettlement"], "{n:?}");
    assert_eq!(rtgs_submissions(&evs), vec![(tx(0), 600, 5, RtgsPriority::Normal)]);
    assert!(evs.iter().any(|x| matches!(x, EventKind::RtgsImmediateSettlement { tx_id: Some(t), sender: A, receiver: B, amount: 600,
        sender_balance_before: 1000, sender_balance_after: 400 } if *t == tx(0))));
    assert_eq!((e.agents()[A as usize].balance, e.agents()[B as usize].balance), (400, 600));
    assert!(e.transactions()[TxId(0)].is_settled());
    assert!(e.agents()[A as usize].queue1.is_empty());
}

#[test]
fn release_priority_flag_sets_the_internal_priority() {
    // HIGH → 10, LOW → 1 (§6.5); ReleaseWithCredit behaves as Release.
    let tree = when(
        "N1",
        field("amount"),
        "==",
        val(100),
        actp("A1", "Release", json!({"priority_flag": val("HIGH")})),
        actp("A2", "ReleaseWithCredit", json!({"priority_flag": val("LOW")})),
    );
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 100, 3, 5).pay(0, "A", "B", 200, 3, 5).engine();
    let evs = step(&mut e);
    assert_eq!(rtgs_submissions(&evs), vec![(tx(0), 100, 10, RtgsPriority::Normal), (tx(1), 200, 1, RtgsPriority::Normal)]);
    assert_eq!(submits(&evs), vec![tx(0), tx(1)]);
}

#[test]
fn release_timed_for_a_later_tick_waits_in_queue1_without_events() {
    let tree = actp("A1", "Release", json!({"timed_for_tick": val(2)}));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 100, 4, 5).engine();
    for t in 0..2 {
        let evs = step(&mut e);
        let policy: Vec<_> = names(&evs).into_iter().filter(|n| n.starts_with("Policy") || n.starts_with("Rtgs")).collect();
        assert!(policy.is_empty(), "tick {t}: {policy:?}");
        assert_eq!(e.agents()[A as usize].queue1, vec![tx(0)], "tick {t}");
    }
    let evs = step(&mut e);
    assert_eq!(submits(&evs), vec![tx(0)]);
    assert_eq!(settled_ids(&evs), vec![tx(0)]);
}

#[test]
fn hold_reasons_render_as_simcash_debug_text() {
    // Route by priority to each kind of reason; deadline at tick 7 ⇒ NearDeadline sees 7.
    let tree = when(
        "N1",
        field("priority"),
        "==",
        val(1),
        hold("A1", "InsufficientLiquidity"),
        when(
            "N2",
            field("priority"),
            "==",
            val(2),
            hold("A2", "NearDeadline"),
            when(
                "N3",
                field("priority"),
                "==",
                val(3),
                hold("A3", "x"),
                when(
                    "N4",
                    field("priority"),
                    "==",
                    val(4),
                    act("A4", "Hold"),
                    when("N5", field("priority"), "==", val(5), hold("A5", "AwaitingInflows"), hold("A6", "LowPriority")),
                ),
            ),
        ),
    );
    let mut sc = Sc::new(10, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "");
    for p in 1..=6 {
        sc = sc.pay(0, "A", "B", 100, 7, p);
    }
    let mut e = sc.engine();
    let got = holds(&step(&mut e));
    let want =
        ["InsufficientLiquidity", "NearDeadline { ticks_remaining: 7 }", "Custom(\"x\")", "Custom(\"Policy decision\")", "AwaitingInflows", "LowPriority"];
    assert_eq!(got, want.iter().enumerate().map(|(i, w)| (tx(i as u32), w.to_string())).collect::<Vec<_>>());
    // One tick later the deadline is one tick closer; held payments stay in Queue 1.
    let got = holds(&step(&mut e));
    assert_eq!(got[1], (tx(1), "NearDeadline { ticks_remaining: 6 }".to_string()));
    assert_eq!(e.agents()[A as usize].queue1.len(), 6);
}

#[test]
fn near_deadline_hold_floors_ticks_remaining_at_zero_past_the_deadline() {
    let mut e = Sc::new(10, 1).agent("A", 1000, &inline(&doc(hold("A1", "NearDeadline")))).agent("B", 0, "").pay(0, "A", "B", 100, 1, 5).engine();
    let reasons: Vec<String> = (0..4).map(|_| holds(&step(&mut e))[0].1.clone()).collect();
    // deadline 1: ticks_to_deadline 1, 0, −1, −2 ⇒ 1, 0, 0, 0.
    assert_eq!(
        reasons,
        [
            "NearDeadline { ticks_remaining: 1 }",
            "NearDeadline { ticks_remaining: 0 }",
            "NearDeadline { ticks_remaining: 0 }",
            "NearDeadline { ticks_remaining: 0 }"
        ]
    );
}

/// A always drops (an `Inline` policy, the YAML-mapping form); one payment due at tick 1.
fn dropping_engine() -> Engine {
    let policy = "policy: {type: Inline, decision_trees: {version: '1.0', policy_id: dropper, \
                  payment_tree: {type: action, node_id: A1, action: Drop}}}";
    Sc::new(4, 1).agent("A", 1000, policy).agent("B", 0, "").pay(0, "A", "B", 500, 1, 5).engine()
}

#[test]
fn drop_emits_policy_drop_and_the_payment_never_settles() {
    let mut e = dropping_engine();
    let evs = step(&mut e);
    assert!(
        evs.iter().any(|x| matches!(x, EventKind::PolicyDrop { agent_id: A, tx_id, reason } if *tx_id == tx(0) && &**reason == "Expired deadline")),
        "{evs:?}"
    );
    assert!(!names(&evs).contains(&"RtgsSubmission"));
    let mut all = evs;
    while !e.is_finished() {
        all.extend(step(&mut e));
    }
    assert!(settled_ids(&all).is_empty());
    assert!(!names(&all).contains(&"TransactionWentOverdue"), "{:?}", names(&all));
    let t = &e.transactions()[TxId(0)];
    assert!(t.dropped && !t.is_settled());
    assert_eq!(e.agents()[A as usize].balance, 1000);
}

#[test]
fn drop_removes_the_payment_from_queue1_so_it_is_never_penalised() {
    // SPEC §6.5: Drop removes the payment from Queue 1; §5/Q-9: a dropped payment leaves
    // all queues and is never penalised (no deadline penalty, no EOD penalty).
    let mut e = dropping_engine();
    let mut drops = 0;
    let mut all = Vec::new();
    while !e.is_finished() {
        let evs = step(&mut e);
        drops += evs.iter().filter(|x| x.name() == "PolicyDrop").count();
        all.extend(evs);
        assert!(e.agents()[A as usize].queue1.is_empty() && e.queue2().is_empty(), "tick {}", e.current_tick() - 1);
    }
    assert_eq!(drops, 1, "dropped once");
    for x in &all {
        if let EventKind::CostAccrual { costs, .. } = x {
            assert_eq!(costs.penalty_cost, 0, "no deadline or EOD penalty for a dropped payment: {x:?}");
        }
        if let EventKind::EndOfDay { unsettled_count, total_penalties, .. } = x {
            assert_eq!((*unsettled_count, *total_penalties), (0, 0));
        }
    }
}

#[test]
fn split_makes_n_children_with_the_remainder_on_the_last() {
    // 1003 / 4 ⇒ 250, 250, 250, 253; friction 3 × 7 = 21.
    let tree = actp("A1", "Split", json!({"num_splits": val(4)}));
    let mut e =
        Sc::new(5, 1).top("cost_rates: {split_friction_cost: 7}").agent("A", 5000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 1003, 3, 7).engine();
    let evs = step(&mut e);
    let n = names(&evs);
    let first = evs.iter().position(|x| matches!(x, EventKind::Arrival { tx_id, .. } if *tx_id != tx(0))).unwrap();
    let mut expect = Vec::new();
    for _ in 0..4 {
        expect.extend(["Arrival", "RtgsSubmission"]);
    }
    expect.extend(["CostAccrual", "PolicySplit"]);
    assert_eq!(&n[first..first + expect.len()], expect.as_slice(), "{n:?}");
    assert!(!n.contains(&"PolicySubmit"), "children skip PolicySubmit: {n:?}");
    let children: Vec<(i64, u32, u8, bool)> = evs
        .iter()
        .filter_map(|x| match x {
            EventKind::Arrival { tx_id, amount, deadline, priority, is_divisible, .. } if *tx_id != tx(0) => {
                Some((*amount, *deadline, *priority, *is_divisible))
            }
            _ => None,
        })
        .collect();
    assert_eq!(children, vec![(250, 3, 7, false), (250, 3, 7, false), (250, 3, 7, false), (253, 3, 7, false)]);
    let ids: Vec<TxId> = (1..=4).map(tx).collect();
    assert!(evs.iter().any(|x| matches!(x, EventKind::PolicySplit { agent_id: A, tx_id, num_splits: 4, child_ids }
        if *tx_id == tx(0) && *child_ids == ids)));
    assert!(evs.iter().any(|x| matches!(x, EventKind::CostAccrual { agent_id: A, costs }
        if *costs == CostBreakdown { split_friction_cost: 21, ..Default::default() })));
    assert_eq!(settled_ids(&evs), ids);
    for c in e.transactions().iter().skip(1) {
        assert_eq!(c.parent, Some(tx(0)));
    }
    let parent = &e.transactions()[TxId(0)];
    assert_eq!((parent.remaining, parent.settled_tick), (0, Some(0)), "the parent settles with its last child");
    assert_eq!(e.agents()[A as usize].balance, 5000 - 1003);
    assert_eq!(e.agents()[A as usize].total_costs.split_friction_cost, 21);
}

/// Releases split children, staggers everything else.
fn stagger_tree() -> Value {
    when(
        "N1",
        field("is_split"),
        "==",
        val(1),
        act("A1", "Release"),
        actp("A2", "StaggerSplit", json!({"num_splits": val(4), "stagger_first_now": val(1), "stagger_gap_ticks": val(5), "priority_boost_children": val(2)})),
    )
}

#[test]
fn stagger_split_releases_the_first_children_and_queues_the_rest() {
    let mut e = Sc::new(10, 1)
        .top("cost_rates: {split_friction_cost: 10}")
        .agent("A", 5000, &inline(&doc(stagger_tree())))
        .agent("B", 0, "")
        .pay(0, "A", "B", 1000, 8, 9)
        .engine();
    let evs = step(&mut e);
    let ids: Vec<TxId> = (1..=4).map(tx).collect();
    assert!(evs.iter().any(|x| matches!(x, EventKind::PolicySplit { num_splits: 4, child_ids, .. } if *child_ids == ids)));
    assert!(evs.iter().any(|x| matches!(x, EventKind::CostAccrual { agent_id: A, costs } if costs.split_friction_cost == 30)));
    // 9 + 2 = 11, capped at 10.
    for c in e.transactions().iter().skip(1) {
        assert_eq!((c.amount, c.priority), (250, 10));
    }
    assert_eq!(settled_ids(&evs), vec![tx(1)], "only the first child goes to RTGS now");
    assert_eq!(e.agents()[A as usize].queue1, vec![tx(2), tx(3), tx(4)], "the rest wait in Queue 1");
    // The gap (5 ticks) is ignored: the payment tree releases them on the next tick.
    let evs = step(&mut e);
    assert_eq!(submits(&evs), vec![tx(2), tx(3), tx(4)]);
    assert_eq!(settled_ids(&evs), vec![tx(2), tx(3), tx(4)]);
    assert!(e.transactions()[TxId(0)].is_settled());
}

#[test]
fn stagger_split_first_children_have_no_rtgs_submission_event() {
    let mut e = Sc::new(10, 1).agent("A", 5000, &inline(&doc(stagger_tree()))).agent("B", 0, "").pay(0, "A", "B", 1000, 8, 9).engine();
    let evs = step(&mut e);
    assert_eq!(rtgs_submissions(&evs), vec![], "{:?}", names(&evs));
    assert_eq!(settled_ids(&evs), vec![tx(1)]);
}

#[test]
fn reprioritize_caps_at_10_and_the_new_priority_is_submitted() {
    let tree = when("N1", field("priority"), "<", val(8), actp("A1", "Reprioritize", json!({"new_priority": val(15)})), act("A2", "Release"));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 100, 4, 3).engine();
    let evs = step(&mut e);
    assert!(evs.iter().any(|x| matches!(x, EventKind::TransactionReprioritized { agent_id: A, old_priority: 3, new_priority: 10, .. })));
    assert!(submits(&evs).is_empty(), "reprioritized payments stay in Queue 1");
    let evs = step(&mut e);
    assert_eq!(rtgs_submissions(&evs), vec![(tx(0), 100, 10, RtgsPriority::Normal)]);
}

#[test]
fn resubmit_from_queue2_withdraws_requeues_and_uses_the_declared_priority() {
    // A has no money: its payment queues in Queue 2 at tick 0. At tick 1 step 2b sees it in
    // the Queue-2 index and resubmits it as Urgent; at tick 2 money arrives and the payment
    // tree releases it again with the declared priority.
    let tree = when("N1", field("is_in_queue2"), "==", val(1), actp("A1", "ResubmitToRtgs", json!({"rtgs_priority": val("Urgent")})), act("A2", "Release"));
    let mut e = Sc::new(10, 1)
        .agent("A", 0, &inline(&doc(tree)))
        .agent("B", 1000, "")
        .pay(0, "A", "B", 500, 8, 5)
        .event("{type: DirectTransfer, from_agent: B, to_agent: A, amount: 500, schedule: {type: OneTime, tick: 2}}")
        .engine();
    let evs = step(&mut e);
    assert_eq!(rtgs_submissions(&evs), vec![(tx(0), 500, 5, RtgsPriority::Normal)]);
    assert!(names(&evs).contains(&"QueuedRtgs"));
    assert!(!names(&evs).contains(&"RtgsWithdrawal"), "the Queue-2 index is stale during tick 0");
    assert_eq!(e.queue2(), [tx(0)]);

    let evs = step(&mut e);
    let n = names(&evs);
    let w = position(&evs, "RtgsWithdrawal");
    assert_eq!(n[w + 1], "RtgsResubmission", "{n:?}");
    assert!(matches!(evs[w], EventKind::RtgsWithdrawal { sender: A, original_rtgs_priority: RtgsPriority::Normal, .. }));
    assert!(matches!(evs[w + 1], EventKind::RtgsResubmission { sender: A, old_rtgs_priority: None, new_rtgs_priority: RtgsPriority::Urgent, .. }));
    assert!(e.queue2().is_empty());
    assert_eq!(e.agents()[A as usize].queue1, vec![tx(0)], "back in Queue 1");
    assert_eq!(e.transactions()[TxId(0)].rtgs_priority, None);

    let evs = step(&mut e);
    assert_eq!(rtgs_submissions(&evs), vec![(tx(0), 500, 5, RtgsPriority::Urgent)]);
    assert_eq!(settled_ids(&evs), vec![tx(0)]);
}

#[test]
fn withdraw_from_rtgs_leaves_queue2_and_fails_on_a_queue1_payment() {
    let tree = when(
        "N1",
        field("is_in_queue2"),
        "==",
        val(1),
        act("A1", "WithdrawFromRtgs"),
        when("N2", field("priority"), "==", val(1), act("A2", "WithdrawFromRtgs"), act("A3", "Release")),
    );
    let mut e = Sc::new(10, 1).agent("A", 0, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 500, 8, 5).pay(0, "A", "B", 300, 8, 1).engine();
    let evs = step(&mut e);
    let h = holds(&evs);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, tx(1));
    // SimCash writes this reason plainly (not as `Custom(…)`), with its settlement error's text.
    assert!(h[0].1.starts_with("WithdrawFromRtgs failed: Settlement error: Transaction "), "{}", h[0].1);
    assert_eq!(e.queue2(), [tx(0)]);

    let evs = step(&mut e);
    assert!(
        evs.iter().any(|x| matches!(x, EventKind::RtgsWithdrawal { tx_id, sender: A, original_rtgs_priority: RtgsPriority::Normal }
        if *tx_id == tx(0))),
        "{:?}",
        names(&evs)
    );
    assert!(!names(&evs).contains(&"RtgsResubmission"));
    assert!(e.queue2().is_empty());
    let t = &e.transactions()[TxId(0)];
    assert_eq!((t.rtgs_priority, t.settled_tick), (None, None));
}

#[test]
fn payment_decisions_see_one_snapshot_of_the_agent() {
    // Both payments pass `effective_liquidity ≥ remaining_amount` against balance 1000, even
    // though the first one uses 600 of it.
    let tree = when("N1", field("effective_liquidity"), ">=", field("remaining_amount"), act("A1", "Release"), hold("A2", "no"));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 600, 3, 5).pay(0, "A", "B", 600, 3, 5).engine();
    let evs = step(&mut e);
    assert_eq!(submits(&evs), vec![tx(0), tx(1)]);
    assert_eq!(settled_ids(&evs), vec![tx(0)]);
    assert_eq!(e.queue2(), [tx(1)]);
}

#[test]
fn an_evaluation_error_in_queue1_stops_the_run_naming_the_node() {
    // amount / (balance − balance): the denominator is computed, so validation cannot catch it.
    let div = json!({"compute": {"op": "/", "left": field("amount"),
        "right": {"compute": {"op": "-", "left": field("balance"), "right": field("balance")}}}});
    let tree = when("N1", div, ">", val(0), act("A1", "Release"), act("A2", "Hold"));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(1, "A", "B", 100, 3, 5).engine();
    e.step().unwrap();
    match e.step() {
        Err(EngineError::Policy { tick: 1, agent, policy, message }) => {
            assert_eq!((agent.as_str(), policy.as_str()), ("A", "t"));
            assert!(message.contains("N1") && message.contains("division by zero"), "{message}");
        }
        other => panic!("expected a policy error at tick 1, got {other:?}"),
    }
}

#[test]
fn an_evaluation_error_in_queue2_is_ignored() {
    let div = json!({"compute": {"op": "/", "left": field("amount"),
        "right": {"compute": {"op": "-", "left": field("balance"), "right": field("balance")}}}});
    let tree = when(
        "N1",
        field("is_in_queue2"),
        "==",
        val(1),
        when("N2", div, ">", val(0), act("A1", "WithdrawFromRtgs"), act("A2", "WithdrawFromRtgs")),
        act("A3", "Release"),
    );
    let mut e = Sc::new(5, 1).agent("A", 0, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 100, 3, 5).engine();
    step(&mut e);
    assert_eq!(e.queue2(), [tx(0)]);
    let evs = step(&mut e);
    assert!(!names(&evs).contains(&"RtgsWithdrawal"));
    assert_eq!(e.queue2(), [tx(0)], "the failed evaluation leaves the payment queued");
}

#[test]
fn a_split_count_below_two_at_run_time_stops_the_run() {
    let tree = actp("A1", "Split", json!({"num_splits": field("priority")}));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&doc(tree))).agent("B", 0, "").pay(0, "A", "B", 100, 3, 1).engine();
    assert!(matches!(e.step(), Err(EngineError::Policy { tick: 0, .. })));
}

// =======================================================================================
// Collateral (§6.6).

/// A document with a payment tree that releases and the given collateral tree.
fn collateral_doc(key: &str, tree: Value) -> Value {
    json!({"version": "1.0", "policy_id": "col", "payment_tree": act("P1", "Release"), key: tree})
}

fn post_once(amount: i64, reason: &str, auto_withdraw: Option<i64>) -> Value {
    let mut params = json!({"amount": val(amount), "reason": val(reason)});
    if let Some(k) = auto_withdraw {
        params["auto_withdraw_after_ticks"] = val(k);
    }
    when("C1", field("current_tick"), "==", val(0), actp("C2", "PostCollateral", params), act("C3", "HoldCollateral"))
}

#[test]
fn post_collateral_raises_the_overdraft_limit_by_the_haircut_capacity() {
    // cap 1000 ⇒ capacity 10 × 1000 = 10000; posting 10000 adds floor(10000 × 0.98) = 9800:
    // a payment of 10800 from a zero balance settles, 10801 does not.
    for (amount, settles) in [(10_800, true), (10_801, false)] {
        let d = collateral_doc("strategic_collateral_tree", post_once(10_000, "GapClosed", None));
        let mut e = Sc::new(5, 1).agent("A", 0, &format!("unsecured_cap: 1000, {}", inline(&d))).agent("B", 0, "").pay(0, "A", "B", amount, 3, 5).engine();
        let evs = step(&mut e);
        let post = position(&evs, "CollateralPost");
        assert!(post < position(&evs, "RtgsSubmission"), "step 1.5 comes before step 2");
        // Any reason outside SimCash's list becomes UrgentLiquidityNeed.
        assert!(matches!(&evs[post], EventKind::CollateralPost { agent_id: A, amount: 10_000, reason, new_total: 10_000 }
            if &**reason == "UrgentLiquidityNeed"));
        assert_eq!(e.agents()[A as usize].allowed_overdraft_limit(), 10_800);
        assert_eq!(settled_ids(&evs).len(), usize::from(settles), "payment {amount}");
        assert_eq!(names(&evs).contains(&"QueuedRtgs"), !settles, "payment {amount}");
    }
}

#[test]
fn posting_more_than_the_remaining_capacity_stops_the_run() {
    let d = collateral_doc("strategic_collateral_tree", post_once(10_001, "PreemptivePosting", None));
    let sc = Sc::new(5, 1).agent("A", 0, &format!("unsecured_cap: 1000, {}", inline(&d))).agent("B", 0, "");
    let mut e = sc.engine();
    match e.step() {
        Err(EngineError::CollateralCapacity { tick: 0, agent, amount: 10_001, remaining: 10_000 }) => assert_eq!(agent, "A"),
        other => panic!("expected CollateralCapacity, got {other:?}"),
    }
    // Through the binary: a non-zero exit with the reason, no panic.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("over.yaml"), sc.yaml()).unwrap();
    let o = simcash(dir.path(), &["run", "over.yaml", "--no-persist"]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("10001") && err.contains("10000") && err.contains("tick 0"), "{err}");
}

#[test]
fn withdraw_collateral_is_clamped_to_what_is_posted() {
    let tree = when(
        "C1",
        field("current_tick"),
        "==",
        val(0),
        actp("C2", "PostCollateral", json!({"amount": val(5000), "reason": val("PreemptivePosting")})),
        actp("C3", "WithdrawCollateral", json!({"amount": val(8000), "reason": val("LiquidityRestored")})),
    );
    let d = collateral_doc("strategic_collateral_tree", tree);
    let mut e = Sc::new(5, 1).agent("A", 0, &format!("unsecured_cap: 1000, {}", inline(&d))).agent("B", 0, "").engine();
    let evs = step(&mut e);
    assert!(evs.iter().any(|x| matches!(x, EventKind::CollateralPost { amount: 5000, new_total: 5000, reason, .. } if &**reason == "PreemptivePosting")));
    let evs = step(&mut e);
    let w: Vec<_> = evs.iter().filter(|x| x.name() == "CollateralWithdraw").collect();
    assert_eq!(w.len(), 1);
    assert!(matches!(w[0], EventKind::CollateralWithdraw { agent_id: A, amount: 5000, new_total: 0, reason } if &**reason == "LiquidityRestored"));
    let evs = step(&mut e);
    assert!(!names(&evs).iter().any(|n| n.starts_with("Collateral")), "nothing left to withdraw: {:?}", names(&evs));
    assert_eq!(e.agents()[A as usize].posted_collateral, 0);
}

#[test]
fn non_positive_collateral_amounts_do_nothing() {
    // amount ≤ 0 ⇒ Hold (§6.6), for posting and withdrawing alike.
    let tree = when(
        "C1",
        field("current_tick"),
        "==",
        val(0),
        actp("C2", "PostCollateral", json!({"amount": {"compute": {"op": "-", "left": val(0), "right": field("unsecured_cap")}}})),
        actp("C3", "WithdrawCollateral", json!({"amount": val(0)})),
    );
    let d = collateral_doc("strategic_collateral_tree", tree);
    let mut e = Sc::new(5, 1).agent("A", 0, &format!("unsecured_cap: 1000, {}", inline(&d))).agent("B", 0, "").engine();
    for _ in 0..2 {
        let evs = step(&mut e);
        assert!(!names(&evs).iter().any(|n| n.starts_with("Collateral")), "{:?}", names(&evs));
    }
}

#[test]
fn end_of_tick_collateral_is_posted_after_settlement() {
    // Posted at step 5.6 of tick 0: too late for tick 0's settlement, in time for tick 1's
    // Queue-2 pass (capacity floor(1000 × 0.98) = 980 = the payment).
    let tree = when("C1", field("posted_collateral"), "==", val(0), actp("C2", "PostCollateral", json!({"amount": val(1000)})), act("C3", "HoldCollateral"));
    let d = collateral_doc("end_of_tick_collateral_tree", tree);
    let mut e = Sc::new(5, 1).agent("A", 0, &format!("max_collateral_capacity: 10000, {}", inline(&d))).agent("B", 0, "").pay(0, "A", "B", 980, 4, 5).engine();
    let evs = step(&mut e);
    assert!(position(&evs, "QueuedRtgs") < position(&evs, "CollateralPost"), "{:?}", names(&evs));
    let evs = step(&mut e);
    assert!(evs.iter().any(|x| matches!(x, EventKind::Queue2LiquidityRelease { tx_id, amount: 980, .. } if *tx_id == tx(0))), "{:?}", names(&evs));
    assert_eq!(e.agents()[A as usize].balance, -980);
    assert!(!names(&evs).contains(&"CollateralPost"), "posted once");
}

/// A posts 5000 at tick 0 with a 2-tick timer and pays `payment` to B at tick 0.
fn timer_engine(payment: Option<i64>) -> Engine {
    let d = collateral_doc("strategic_collateral_tree", post_once(5000, "PreemptivePosting", Some(2)));
    let mut sc = Sc::new(10, 1).agent("A", 0, &format!("unsecured_cap: 1000, {}", inline(&d))).agent("B", 0, "");
    if let Some(p) = payment {
        sc = sc.pay(0, "A", "B", p, 8, 5);
    }
    sc.engine()
}

fn timer_events(evs: &[EventKind]) -> Vec<EventKind> {
    evs.iter().filter(|x| x.name().starts_with("CollateralTimer")).cloned().collect()
}

#[test]
fn collateral_timer_withdraws_everything_without_credit_use() {
    // credit_used 0: max_safe = 5000 − ceil(max(0, 100 − min(1000, 100)) / 0.98) = 5000.
    let mut e = timer_engine(None);
    assert!(timer_events(&step(&mut e)).is_empty());
    assert!(timer_events(&step(&mut e)).is_empty(), "the timer is due at tick 0 + 2");
    let t = timer_events(&step(&mut e));
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(
        matches!(&t[0], EventKind::CollateralTimerWithdrawn { agent_id: A, amount: 5000, original_reason, posted_at_tick: 0, new_total: 0 }
        if &**original_reason == "PreemptivePosting"),
        "{t:?}"
    );
}

#[test]
fn collateral_timer_withdraws_only_what_keeps_the_overdraft_covered() {
    // Paying 5000 from 0 (limit 1000 + 4900) leaves credit_used 5000. At tick 2:
    // needed = ceil((5000 + 100 − 1000) / 0.98) = ceil(4183.67) = 4184 ⇒ max_safe = 816.
    let mut e = timer_engine(Some(5000));
    let evs = step(&mut e);
    assert_eq!(settled_ids(&evs), vec![tx(0)]);
    step(&mut e);
    let t = timer_events(&step(&mut e));
    assert!(matches!(&t[..], [EventKind::CollateralTimerWithdrawn { amount: 816, new_total: 4184, posted_at_tick: 0, .. }]), "{t:?}");
    assert_eq!(e.agents()[A as usize].posted_collateral, 4184);
    // The remainder is dropped: no later timer.
    for _ in 3..10 {
        assert!(timer_events(&step(&mut e)).is_empty());
    }
}

#[test]
fn collateral_timer_is_blocked_without_headroom() {
    // Paying 5900 uses the whole limit 1000 + 4900. needed = ceil((5900 + 100 − 1000) / 0.98)
    // = 5103 > 5000 posted ⇒ blocked.
    let mut e = timer_engine(Some(5900));
    assert_eq!(settled_ids(&step(&mut e)), vec![tx(0)]);
    step(&mut e);
    let t = timer_events(&step(&mut e));
    match &t[..] {
        [EventKind::CollateralTimerBlocked { agent_id: A, requested_amount: 5000, reason, original_reason, posted_at_tick: 0 }] => {
            assert_eq!(&**reason, "No headroom available for withdrawal: credit_used=5900, allowed_limit=5900, headroom=0");
            assert_eq!(&**original_reason, "PreemptivePosting");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.agents()[A as usize].posted_collateral, 5000);
}

// =======================================================================================
// Bank trees (§6.5 bank-level actions, step 1.75).

fn bank_doc(payment: Value, bank: Value) -> Value {
    json!({"version": "1.0", "policy_id": "bank", "payment_tree": payment, "bank_tree": bank})
}

#[test]
fn release_budget_limits_releases_and_resets_each_tick() {
    let bank = actp("B1", "SetReleaseBudget", json!({"max_value_to_release": val(1000)}));
    let mut e = Sc::new(5, 1)
        .agent("A", 10_000, &inline(&bank_doc(act("P1", "Release"), bank)))
        .agent("B", 0, "")
        .pay(0, "A", "B", 600, 4, 5)
        .pay(0, "A", "B", 300, 4, 5)
        .pay(0, "A", "B", 400, 4, 5)
        .engine();
    let evs = step(&mut e);
    assert!(position(&evs, "BankBudgetSet") < position(&evs, "RtgsSubmission"));
    assert!(evs.iter().any(|x| matches!(x, EventKind::BankBudgetSet { agent_id: A, max_value: 1000, focus_counterparties: None, max_per_counterparty: None })));
    // 600 + 300 fit in 1000; 400 > the 100 left.
    assert_eq!(submits(&evs), vec![tx(0), tx(1)]);
    assert_eq!(holds(&evs), vec![(tx(2), "BudgetExhausted".to_string())]);
    let evs = step(&mut e);
    assert_eq!(submits(&evs), vec![tx(2)], "a fresh budget next tick");
}

#[test]
fn no_action_in_the_bank_tree_leaves_the_budget_unlimited() {
    let bank = when("B1", field("current_tick"), "==", val(0), actp("B2", "SetReleaseBudget", json!({"max_value_to_release": val(0)})), act("B3", "NoAction"));
    let mut e = Sc::new(5, 1)
        .agent("A", 10_000, &inline(&bank_doc(act("P1", "Release"), bank)))
        .agent("B", 0, "")
        .pay(0, "A", "B", 600, 4, 5)
        .pay(0, "A", "B", 5000, 4, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs).len(), 2);
    let evs = step(&mut e);
    assert!(!names(&evs).contains(&"BankBudgetSet"));
    assert_eq!(submits(&evs), vec![tx(0), tx(1)]);
}

#[test]
fn release_budget_focus_list_and_per_counterparty_cap() {
    let bank = actp("B1", "SetReleaseBudget", json!({"max_value_to_release": val(100_000), "focus_counterparties": val(json!(["B"]))}));
    let mut e = Sc::new(5, 1)
        .agent("A", 10_000, &inline(&bank_doc(act("P1", "Release"), bank)))
        .agent("B", 0, "")
        .agent("C", 0, "")
        .pay(0, "A", "B", 100, 4, 5)
        .pay(0, "A", "C", 100, 4, 5)
        .engine();
    let evs = step(&mut e);
    assert!(evs.iter().any(|x| matches!(x, EventKind::BankBudgetSet { focus_counterparties: Some(f), .. } if *f == vec![B])));
    assert_eq!(submits(&evs), vec![tx(0)]);
    assert_eq!(holds(&evs), vec![(tx(1), "BudgetExhausted".to_string())]);

    let bank = actp("B1", "SetReleaseBudget", json!({"max_value_to_release": val(100_000), "max_per_counterparty": val(500)}));
    let mut e = Sc::new(5, 1)
        .agent("A", 10_000, &inline(&bank_doc(act("P1", "Release"), bank)))
        .agent("B", 0, "")
        .agent("C", 0, "")
        .pay(0, "A", "B", 300, 4, 5)
        .pay(0, "A", "B", 300, 4, 5)
        .pay(0, "A", "C", 300, 4, 5)
        .engine();
    let evs = step(&mut e);
    assert!(evs.iter().any(|x| matches!(x, EventKind::BankBudgetSet { max_per_counterparty: Some(500), .. })));
    assert_eq!(submits(&evs), vec![tx(0), tx(2)], "300 + 300 to B exceeds 500; C has its own 500");
    assert_eq!(holds(&evs), vec![(tx(1), "BudgetExhausted".to_string())]);
}

fn registers(evs: &[EventKind]) -> Vec<(String, f64, f64, String, Option<String>)> {
    evs.iter()
        .filter_map(|x| match x {
            EventKind::StateRegisterSet { register_key, old_value, new_value, reason, decision_path, .. } => {
                Some((register_key.to_string(), *old_value, *new_value, reason.to_string(), decision_path.as_ref().map(|p| p.to_string())))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn add_state_counts_with_its_decision_path_and_registers_reset_at_end_of_day() {
    let bank = when(
        "N1",
        field("bank_state_count"),
        ">=",
        val(0),
        actp("A1", "AddState", json!({"key": val("bank_state_count"), "value": val(1), "reason": val("count")})),
        act("A2", "NoAction"),
    );
    let mut e = Sc::new(3, 2).agent("A", 0, &inline(&bank_doc(act("P1", "Release"), bank))).agent("B", 0, "").engine();
    let set = |old: f64, new: f64| ("bank_state_count".to_string(), old, new, "count".to_string(), Some("N1(true) → A1".to_string()));
    assert_eq!(registers(&step(&mut e)), vec![set(0.0, 1.0)]);
    assert_eq!(registers(&step(&mut e)), vec![set(1.0, 2.0)]);
    // Last tick of day 0: the bank tree counts, then end of day resets.
    let evs = step(&mut e);
    assert_eq!(registers(&evs), vec![set(2.0, 3.0), ("bank_state_count".to_string(), 3.0, 0.0, "eod_reset".to_string(), None)]);
    assert!(position(&evs, "StateRegisterSet") < position(&evs, "EndOfDay"));
    assert_eq!(registers(&step(&mut e)), vec![set(0.0, 1.0)], "day 1 starts from 0");
}

#[test]
fn set_state_sets_and_keys_outside_bank_state_are_ignored() {
    let bank = actp("A1", "SetState", json!({"key": val("bank_state_mode"), "value": val(7), "reason": val("mode")}));
    let mut e = Sc::new(5, 1).agent("A", 0, &inline(&bank_doc(act("P1", "Release"), bank))).agent("B", 0, "").engine();
    let path = Some("A1".to_string());
    assert_eq!(registers(&step(&mut e)), vec![("bank_state_mode".into(), 0.0, 7.0, "mode".into(), path.clone())]);
    assert_eq!(registers(&step(&mut e)), vec![("bank_state_mode".into(), 7.0, 7.0, "mode".into(), path)]);

    let bank = actp("A1", "SetState", json!({"key": val("mode"), "value": val(7)}));
    let mut e = Sc::new(5, 1).agent("A", 0, &inline(&bank_doc(act("P1", "Release"), bank))).agent("B", 0, "").engine();
    assert!(registers(&step(&mut e)).is_empty());
}

#[test]
fn an_agent_holds_at_most_ten_registers() {
    // Tick k sets bank_state_k; the 11th key (tick 10) is ignored, the first ten still update.
    let mut bank = actp("S0", "SetState", json!({"key": val("bank_state_0"), "value": val(5)}));
    for k in (0..11).rev() {
        let set = actp(&format!("S{}", k + 1), "SetState", json!({"key": val(format!("bank_state_{k}")), "value": val(k + 1)}));
        bank = when(&format!("N{k}"), field("current_tick"), "==", val(k), set, bank);
    }
    let mut e = Sc::new(12, 1).agent("A", 0, &inline(&bank_doc(act("P1", "Release"), bank))).agent("B", 0, "").engine();
    for k in 0..10 {
        let r = registers(&step(&mut e));
        assert_eq!(r.len(), 1, "tick {k}: {r:?}");
        assert_eq!((r[0].0.as_str(), r[0].2), (format!("bank_state_{k}").as_str(), (k + 1) as f64));
    }
    assert!(registers(&step(&mut e)).is_empty(), "an 11th register is not created");
    // Tick 11 falls through to bank_state_0 := 5, an existing key; then the end of day
    // resets all ten.
    let r = registers(&step(&mut e));
    assert_eq!((r[0].0.as_str(), r[0].1, r[0].2), ("bank_state_0", 1.0, 5.0));
    assert_eq!(r[1..].iter().filter(|x| x.3 == "eod_reset").count(), 10, "{r:?}");
}

#[test]
fn payment_trees_read_registers_set_this_tick_and_unset_registers_are_zero() {
    let bank = actp("A1", "AddState", json!({"key": val("bank_state_count"), "value": val(1)}));
    let payment = checks("P", &[("bank_state_never_set", "==", 0.0), ("bank_state_count", ">=", 2.0)], act("R1", "Release"));
    let mut e = Sc::new(5, 1).agent("A", 1000, &inline(&bank_doc(payment, bank))).agent("B", 0, "").pay(0, "A", "B", 100, 4, 5).engine();
    // Tick 0: count 1 (set at step 1.75, before step 2) ⇒ held; tick 1: count 2 ⇒ released.
    assert_eq!(holds(&step(&mut e)), vec![(tx(0), "Custom(\"bank_state_count\")".to_string())]);
    assert_eq!(submits(&step(&mut e)), vec![tx(0)]);
}

// =======================================================================================
// Built-in policies (§6.1).

#[test]
fn builtin_deadline_holds_until_within_the_urgency_threshold() {
    let mut e = Sc::new(10, 1).agent("A", 10_000, "policy: {type: Deadline, urgency_threshold: 3}").agent("B", 0, "").pay(0, "A", "B", 100, 5, 5).engine();
    // ticks_to_deadline 5, 4 > 3 ⇒ Hold(NearDeadline); 3 ⇒ Release.
    assert_eq!(holds(&step(&mut e)), vec![(tx(0), "NearDeadline { ticks_remaining: 5 }".to_string())]);
    assert_eq!(holds(&step(&mut e)), vec![(tx(0), "NearDeadline { ticks_remaining: 4 }".to_string())]);
    let evs = step(&mut e);
    assert_eq!((submits(&evs), settled_ids(&evs)), (vec![tx(0)], vec![tx(0)]));
}

#[test]
fn builtin_liquidity_aware_keeps_the_buffer_unless_urgent() {
    // balance 1000, buffer 500, urgency 2; one snapshot for all three:
    // 600 (not urgent): 1000 − 600 = 400 < 500 ⇒ Hold; 400: 600 ≥ 500 ⇒ Release;
    // 900 due in 2 (urgent): effective liquidity 1000 ≥ 900 ⇒ Release.
    let mut e = Sc::new(10, 1)
        .agent("A", 1000, "policy: {type: LiquidityAware, target_buffer: 500, urgency_threshold: 2}")
        .agent("B", 0, "")
        .pay(0, "A", "B", 600, 8, 5)
        .pay(0, "A", "B", 400, 8, 5)
        .pay(0, "A", "B", 900, 2, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![(tx(0), "InsufficientLiquidity".to_string())]);
    assert_eq!(submits(&evs), vec![tx(1), tx(2)]);

    // target_buffer 0: plain affordability against effective liquidity.
    let mut e = Sc::new(10, 1)
        .agent("A", 1000, "policy: {type: LiquidityAware, target_buffer: 0, urgency_threshold: 2}")
        .agent("B", 0, "")
        .pay(0, "A", "B", 1001, 8, 5)
        .pay(0, "A", "B", 1000, 8, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![(tx(0), "InsufficientLiquidity".to_string())]);
    assert_eq!(submits(&evs), vec![tx(1)]);
}

fn split_children(evs: &[EventKind]) -> Vec<(TxId, usize)> {
    evs.iter()
        .filter_map(|x| match x {
            EventKind::PolicySplit { tx_id, child_ids, .. } => Some((*tx_id, child_ids.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn builtin_liquidity_splitting_splits_what_the_balance_cannot_cover() {
    // balance 500: 900 not urgent ⇒ Split(2); 900 due in 3 (≤ 5) ⇒ Split(max_splits 3);
    // 400 ≤ balance ⇒ Release. C has balance 0 ⇒ Hold(InsufficientLiquidity).
    let policy = "policy: {type: LiquiditySplitting, max_splits: 3, min_split_amount: 1}";
    let mut e = Sc::new(10, 1)
        .agent("A", 500, policy)
        .agent("B", 0, "")
        .agent("C", 0, policy)
        .pay(0, "A", "B", 900, 8, 5)
        .pay(0, "A", "B", 900, 3, 5)
        .pay(0, "A", "B", 400, 8, 5)
        .pay(0, "C", "B", 100, 8, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(split_children(&evs), vec![(tx(0), 2), (tx(1), 3)]);
    assert_eq!(submits(&evs), vec![tx(2)]);
    assert_eq!(holds(&evs), vec![(tx(3), "InsufficientLiquidity".to_string())]);
    let amounts: Vec<i64> = e.transactions().iter().filter(|t| t.parent.is_some()).map(|t| t.amount).collect();
    assert_eq!(amounts, vec![450, 450, 300, 300, 300]);
}

#[test]
fn builtin_mock_splitting_always_splits() {
    let mut e = Sc::new(10, 1).agent("A", 500, "policy: {type: MockSplitting, num_splits: 3}").agent("B", 0, "").pay(0, "A", "B", 100, 8, 5).engine();
    let evs = step(&mut e);
    assert_eq!(split_children(&evs), vec![(tx(0), 3)]);
    let amounts: Vec<i64> = e.transactions().iter().skip(1).map(|t| t.amount).collect();
    assert_eq!(amounts, vec![33, 33, 34]);
}

#[test]
fn from_json_is_found_next_to_the_scenario() {
    // The scenario "lives" in tests/data/policies/; json_path is relative to it.
    let yaml = Sc::new(5, 1)
        .agent("A", 1000, "policy: {type: FromJson, json_path: hold_low_priority.json}")
        .agent("B", 0, "")
        .pay(0, "A", "B", 100, 4, 2)
        .pay(0, "A", "B", 100, 4, 7)
        .yaml();
    let file = data("policies/scenario.yaml");
    let sc = load_str(file.to_str().unwrap(), &yaml).unwrap();
    let mut e = Engine::new(sc.config).unwrap();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![(tx(0), "LowPriority".to_string())]);
    assert_eq!(submits(&evs), vec![tx(1)]);
}

#[test]
fn hold_reasons_reach_the_event_stream_file() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = Sc::new(10, 1).agent("A", 10_000, "policy: {type: Deadline, urgency_threshold: 3}").agent("B", 0, "").pay(0, "A", "B", 100, 5, 5).yaml();
    std::fs::write(dir.path().join("s.yaml"), yaml).unwrap();
    let o = simcash(dir.path(), &["run", "s.yaml", "--no-persist", "--events", "e.jsonl"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("e.jsonl")).unwrap();
    let holds: Vec<Value> = text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|v| v["event_type"] == "PolicyHold").collect();
    assert_eq!(holds.len(), 2, "{text}");
    assert_eq!(holds[0]["reason"], "NearDeadline { ticks_remaining: 5 }");
    assert_eq!(holds[1]["reason"], "NearDeadline { ticks_remaining: 4 }");
    assert_eq!(holds[0]["agent_id"], "A");
}

// =======================================================================================
// Context fields (§6.4): `if field OP value then Release else Hold(field)`, at ticks where
// the value is known by hand.

#[test]
fn tx_fields_ticks_to_deadline_is_past_deadline_queue_age() {
    // priority 1: ticks_to_deadline ≤ 2 with deadline 4 ⇒ released at tick 2.
    // priority 2: is_past_deadline (t > deadline 1) ⇒ released at tick 2.
    // priority 3: arrives at tick 1; queue_age ≥ 2 ⇒ released at tick 3.
    let tree = when(
        "N1",
        field("priority"),
        "==",
        val(1),
        checks("T", &[("ticks_to_deadline", "<=", 2.0)], act("R1", "Release")),
        when(
            "N2",
            field("priority"),
            "==",
            val(2),
            checks("P", &[("is_past_deadline", "==", 1.0)], act("R2", "Release")),
            checks("Q", &[("queue_age", ">=", 2.0)], act("R3", "Release")),
        ),
    );
    let mut e = Sc::new(10, 1)
        .agent("A", 10_000, &inline(&doc(tree)))
        .agent("B", 0, "")
        .pay(0, "A", "B", 100, 4, 1)
        .pay(0, "A", "B", 100, 1, 2)
        .pay(1, "A", "B", 100, 8, 3)
        .engine();
    assert_eq!(submit_ticks(&mut e, 6, &[tx(0), tx(1), tx(2)]), vec![Some(2), Some(2), Some(3)]);
}

#[test]
fn agent_fields_liquidity_and_credit() {
    // balance −200, unsecured_cap 500: credit_used 200, credit_headroom 300,
    // effective_liquidity = −200 + 500 − 200 = 100, available_liquidity = 0 + 300.
    let tree = checks(
        "N",
        &[
            ("balance", "==", -200.0),
            ("credit_limit", "==", 500.0),
            ("credit_used", "==", 200.0),
            ("credit_headroom", "==", 300.0),
            ("effective_liquidity", "==", 100.0),
            ("available_liquidity", "==", 300.0),
            ("is_using_credit", "==", 1.0),
            ("outgoing_queue_size", "==", 1.0),
        ],
        act("R", "Release"),
    );
    let mut e = Sc::new(5, 1).agent("A", -200, &format!("unsecured_cap: 500, {}", inline(&doc(tree)))).agent("B", 0, "").pay(0, "A", "B", 100, 4, 5).engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![]);
    assert_eq!(submits(&evs), vec![tx(0)]);
}

#[test]
fn effective_liquidity_ignores_collateral_but_available_liquidity_counts_it() {
    // As above plus 1000 posted at step 1.5: capacity 980 ⇒ available = 500 + 980 − 200 =
    // 1280, allowed_overdraft_limit 1480; effective_liquidity and credit_headroom unchanged.
    let tree = checks(
        "N",
        &[
            ("posted_collateral", "==", 1000.0),
            ("effective_liquidity", "==", 100.0),
            ("credit_headroom", "==", 300.0),
            ("available_liquidity", "==", 1280.0),
            ("allowed_overdraft_limit", "==", 1480.0),
        ],
        act("R", "Release"),
    );
    let d = json!({"version": "1.0", "policy_id": "t", "payment_tree": tree,
        "strategic_collateral_tree": post_once(1000, "PreemptivePosting", None)});
    let mut e = Sc::new(5, 1).agent("A", -200, &format!("unsecured_cap: 500, {}", inline(&d))).agent("B", 0, "").pay(0, "A", "B", 100, 4, 5).engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![]);
    assert_eq!(submits(&evs), vec![tx(0)]);
}

#[test]
fn queue_fields_queue1_value_and_gap_then_queue2_counts() {
    // Tick 0: Q1 = 100 + 200 + 300 = 600, available 250 ⇒ gap 350, headroom −350.
    // 100 settles (balance 150), 200 and 300 queue. Tick 1 (index rebuilt after tick 0):
    // 2 in Queue 2 worth 500; Q1 holds only the new 50.
    let tick0 = checks(
        "Z",
        &[
            ("queue1_total_value", "==", 600.0),
            ("queue1_liquidity_gap", "==", 350.0),
            ("headroom", "==", -350.0),
            ("outgoing_queue_size", "==", 3.0),
            ("queue2_count_for_agent", "==", 0.0),
        ],
        act("R0", "Release"),
    );
    let tick1 = checks(
        "O",
        &[
            ("queue2_count_for_agent", "==", 2.0),
            ("rtgs_queue_size", "==", 2.0),
            ("rtgs_queue_value", "==", 500.0),
            ("queue1_total_value", "==", 50.0),
            ("queue1_liquidity_gap", "==", 0.0),
            ("queue2_nearest_deadline", "==", 6.0),
        ],
        hold("OK", "ok"),
    );
    let tree = when("N", field("current_tick"), "==", val(0), tick0, tick1);
    let mut e = Sc::new(10, 1)
        .agent("A", 250, &inline(&doc(tree)))
        .agent("B", 0, "")
        .pay(0, "A", "B", 100, 8, 5)
        .pay(0, "A", "B", 200, 6, 5)
        .pay(0, "A", "B", 300, 7, 5)
        .pay(1, "A", "B", 50, 8, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![]);
    assert_eq!(submits(&evs), vec![tx(0), tx(1), tx(2)]);
    assert_eq!(e.queue2(), [tx(1), tx(2)]);
    assert_eq!(holds(&step(&mut e)), vec![(tx(3), "Custom(\"ok\")".to_string())]);
}

#[test]
fn collateral_fields_capacity_defaults_to_ten_times_the_unsecured_cap() {
    // A: cap 700 ⇒ max 7000; posts 1500 at step 1.5 ⇒ remaining 5500, limit 700 + 1470.
    // C: explicit max_collateral_capacity 4000, nothing posted.
    let a_tree = checks(
        "N",
        &[
            ("unsecured_cap", "==", 700.0),
            ("max_collateral_capacity", "==", 7000.0),
            ("posted_collateral", "==", 1500.0),
            ("remaining_collateral_capacity", "==", 5500.0),
            ("collateral_haircut", "==", 0.02),
            ("allowed_overdraft_limit", "==", 2170.0),
        ],
        act("R", "Release"),
    );
    let a_doc = json!({"version": "1.0", "policy_id": "a", "payment_tree": a_tree,
        "strategic_collateral_tree": post_once(1500, "PreemptivePosting", None)});
    let c_tree = checks(
        "N",
        &[("max_collateral_capacity", "==", 4000.0), ("remaining_collateral_capacity", "==", 4000.0), ("posted_collateral", "==", 0.0)],
        act("R", "Release"),
    );
    let mut e = Sc::new(5, 1)
        .agent("A", 1000, &format!("unsecured_cap: 700, {}", inline(&a_doc)))
        .agent("B", 0, "")
        .agent("C", 1000, &format!("unsecured_cap: 700, max_collateral_capacity: 4000, {}", inline(&doc(c_tree))))
        .pay(0, "A", "B", 100, 4, 5)
        .pay(0, "C", "B", 100, 4, 5)
        .engine();
    let evs = step(&mut e);
    assert_eq!(holds(&evs), vec![]);
    assert_eq!(submits(&evs), vec![tx(0), tx(1)]);
}

#[test]
fn time_fields_day_progress_eod_rush_and_the_next_day() {
    // tpd 10: day_progress_fraction = tick_in_day / 10 reaches 0.5 at tick 5; is_eod_rush
    // (≥ 0.8) starts at tick 8; ticks_remaining_in_day = 10 − tick_in_day − 1 is 9 again at
    // tick 10 (day 1).
    let tree = when(
        "N1",
        field("priority"),
        "==",
        val(1),
        checks("E", &[("is_eod_rush", "==", 1.0)], act("R1", "Release")),
        when(
            "N2",
            field("priority"),
            "==",
            val(2),
            checks("D", &[("day_progress_fraction", ">=", 0.5)], act("R2", "Release")),
            checks("T", &[("ticks_remaining_in_day", "==", 9.0), ("system_current_day", "==", 1.0)], act("R3", "Release")),
        ),
    );
    let mut e = Sc::new(10, 2)
        .agent("A", 10_000, &inline(&doc(tree)))
        .agent("B", 0, "")
        .pay(0, "A", "B", 100, 19, 1)
        .pay(0, "A", "B", 100, 19, 2)
        .pay(9, "A", "B", 100, 5, 3)
        .engine();
    assert_eq!(submit_ticks(&mut e, 12, &[tx(0), tx(1), tx(2)]), vec![Some(8), Some(5), Some(10)]);
}

// =======================================================================================
// arrival_bands (§4.2): priorities per band.

fn band_priorities(band: &str, rate: f64) -> (Vec<u8>, BTreeSet<AgentIdx>, Engine) {
    let bands = format!(
        "arrival_bands: {{{band}: {{rate_per_tick: {rate}, amount_distribution: {{type: Uniform, min: 10, max: 20}}, \
         deadline_offset_min: 2, deadline_offset_max: 5}}}}"
    );
    let mut e = Sc::new(20, 1).agent("A", 1_000_000, &bands).agent("B", 0, "").agent("C", 0, "").engine();
    let mut prios = Vec::new();
    let mut receivers = BTreeSet::new();
    for _ in 0..20 {
        for x in step(&mut e) {
            if let EventKind::Arrival { sender_id: A, priority, receiver_id, .. } = x {
                prios.push(priority);
                receivers.insert(receiver_id);
            }
        }
    }
    (prios, receivers, e)
}

#[test]
fn arrival_bands_draw_priorities_in_their_band() {
    for (band, lo, hi) in [("urgent", 8u8, 10u8), ("normal", 4, 7), ("low", 0, 3)] {
        let (prios, receivers, _) = band_priorities(band, 2.0);
        assert!(prios.len() >= 20, "{band}: {} arrivals", prios.len());
        assert!(prios.iter().all(|p| (lo..=hi).contains(p)), "{band}: {prios:?}");
        let seen: BTreeSet<u8> = prios.iter().copied().collect();
        assert_eq!(seen, (lo..=hi).collect(), "{band}: every priority of the band occurs in {} draws", prios.len());
        assert_eq!(receivers, BTreeSet::from([B, C]), "{band}: unweighted bands pick any counterparty");
    }
}

#[test]
fn low_band_priority_zero_stays_zero() {
    let (prios, _, e) = band_priorities("low", 2.0);
    assert!(prios.contains(&0), "{prios:?}");
    let zero = e.transactions().iter().filter(|t| t.sender == A && t.original_priority == 0).count();
    assert_eq!(zero, prios.iter().filter(|p| **p == 0).count(), "the transactions keep priority 0");
}

#[test]
fn legacy_arrival_config_turns_priority_zero_into_five() {
    // Contrast with the bands.
    let cfg = "arrival_config: {rate_per_tick: 1.0, amount_distribution: {type: Uniform, min: 10, max: 20}, \
               counterparty_weights: {B: 1.0}, deadline_range: [2, 5], priority: 0}";
    let mut e = Sc::new(10, 1).agent("A", 1_000_000, cfg).agent("B", 0, "").engine();
    let mut prios = Vec::new();
    for _ in 0..10 {
        for x in step(&mut e) {
            if let EventKind::Arrival { priority, .. } = x {
                prios.push(priority);
            }
        }
    }
    assert!(!prios.is_empty());
    assert!(prios.iter().all(|p| *p == 5), "{prios:?}");
}
