//! LSM multilateral cycles (ENGINE-SPEC §3.5): triangles only in u→v→w→u orientation,
//! longer cycles by per-payment search, net positions funded, full values, atomic.
//! These cases are worked out by hand from the spec and SimCash's `run_lsm_pass` (the
//! lsm_cycles_* goldens hold cycle settlements too, but in long congested runs).

use simcash::engine::Engine;
use simcash::engine::event::{AgentIdx, EventKind};
use simcash::scenario::load_str;

/// Banks with opening balances; payments `(from, to, amount)` all arrive at tick 0 and, as
/// no sender can pay alone, queue; then the LSM runs.
fn run(balances: &[(&str, i64)], payments: &[(&str, &str, i64)], max_cycle_length: u32) -> Engine {
    let agents: String = balances.iter().map(|(id, b)| format!("  - {{id: {id}, opening_balance: {b}}}\n")).collect();
    let events: String = payments
        .iter()
        .map(|(f, t, a)| {
            format!("  - {{type: CustomTransactionArrival, from_agent: {f}, to_agent: {t}, amount: {a}, deadline: 5, schedule: {{type: OneTime, tick: 0}}}}\n")
        })
        .collect();
    let yaml = format!(
        "simulation: {{ticks_per_day: 10, num_days: 1, rng_seed: 1}}\n\
         lsm_config: {{enable_bilateral: true, enable_cycles: true, max_cycle_length: {max_cycle_length}, max_cycles_per_tick: 10}}\n\
         agents:\n{agents}scenario_events:\n{events}"
    );
    let mut e = Engine::new(load_str("lsm.yaml", &yaml).unwrap().config).unwrap();
    e.step().unwrap();
    e
}

/// (agents, tx_amounts, total_value, net_positions, max_net_outflow, its agent) of each cycle.
type CycleEvent = (Vec<AgentIdx>, Vec<i64>, i64, Vec<i64>, i64, Option<AgentIdx>);

fn cycles(e: &Engine) -> Vec<CycleEvent> {
    e.tick_events()
        .iter()
        .filter_map(|ev| match &ev.kind {
            EventKind::LsmCycleSettlement { agents, tx_amounts, total_value, net_positions, max_net_outflow, max_net_outflow_agent, .. } => {
                Some((agents.clone(), tx_amounts.clone(), *total_value, net_positions.clone(), *max_net_outflow, *max_net_outflow_agent))
            }
            _ => None,
        })
        .collect()
}

fn balances(e: &Engine) -> Vec<i64> {
    e.agents().iter().map(|a| a.balance).collect()
}

#[test]
fn an_unequal_triangle_settles_at_full_value_when_the_net_payer_can_fund_its_net() {
    // A→B 100, B→C 150, C→A 120: nets A +20, B −50, C +30 (the spec's verified case
    // [20, −50, 30, 20]); B holds exactly 50.
    let e = run(&[("A", 0), ("B", 50), ("C", 0)], &[("A", "B", 100), ("B", "C", 150), ("C", "A", 120)], 3);
    assert_eq!(cycles(&e), [(vec![0, 1, 2, 0], vec![100, 150, 120], 370, vec![20, -50, 30, 20], 50, Some(1))]);
    assert_eq!(balances(&e), [20, 0, 30]);
    assert!(e.queue2().is_empty());
}

#[test]
fn a_triangle_whose_net_payer_is_short_stays_queued() {
    let e = run(&[("A", 0), ("B", 49), ("C", 0)], &[("A", "B", 100), ("B", "C", 150), ("C", "A", 120)], 3);
    assert!(cycles(&e).is_empty());
    assert_eq!(e.queue2().len(), 3);
    assert_eq!(balances(&e), [0, 49, 0]);
}

#[test]
fn the_reverse_triangle_orientation_is_never_found() {
    // A→C→B→A is the u→w→v→u orientation: no candidate, even with ample liquidity
    // for the nets, and the per-payment search only takes 4 or more edges.
    let e = run(&[("A", 0), ("B", 100), ("C", 100)], &[("A", "C", 100), ("C", "B", 150), ("B", "A", 120)], 5);
    assert!(cycles(&e).is_empty());
    assert_eq!(e.queue2().len(), 3);
}

#[test]
fn a_four_cycle_is_found_by_the_payment_search_when_long_cycles_are_allowed() {
    // A→B→C→D→A, 100 each: every net is 0, so it settles without any liquidity.
    let pays = [("A", "B", 100), ("B", "C", 100), ("C", "D", 100), ("D", "A", 100)];
    let bal = [("A", 0), ("B", 0), ("C", 0), ("D", 0)];
    let e = run(&bal, &pays, 4);
    assert_eq!(cycles(&e), [(vec![0, 1, 2, 3, 0], vec![100; 4], 400, vec![0; 5], 0, None)]);
    assert!(e.queue2().is_empty());
    // With cycles capped at 3 agents the same payments stay queued.
    let e = run(&bal, &pays, 3);
    assert!(cycles(&e).is_empty());
    assert_eq!(e.queue2().len(), 4);
}

#[test]
fn parallel_payments_split_a_zero_net_four_cycle_into_infeasible_candidates() {
    // A→B carries two payments of 50. Aggregated, the cycle nets to zero, but each candidate
    // takes one payment per edge: with A→B 50 only, B's net is 50 − 100 = −50 and B has
    // nothing, so no candidate settles.
    let pays = [("A", "B", 50), ("A", "B", 50), ("B", "C", 100), ("C", "D", 100), ("D", "A", 100)];
    let e = run(&[("A", 0), ("B", 0), ("C", 0), ("D", 0)], &pays, 4);
    assert!(cycles(&e).is_empty());
    assert_eq!(e.queue2().len(), 5);
    // Give B 50: the first candidate (A→B first payment, value 350) settles and leaves A
    // with +50, which then pays the second A→B payment in the LSM's queue pass (silent in
    // SimCash, Q-4; simcash's extension event LsmQueue2Settlement).
    let e = run(&[("A", 0), ("B", 50), ("C", 0), ("D", 0)], &pays, 4);
    let c = cycles(&e);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].2, c[0].3.clone()), (350, vec![50, -50, 0, 0, 50]));
    assert_eq!(queue_pass(&e), [50]);
    assert!(e.queue2().is_empty());
    assert_eq!(balances(&e), [0, 50, 0, 0]);
}

/// Amounts the LSM's queue passes settled this tick (simcash's LsmQueue2Settlement events).
fn queue_pass(e: &Engine) -> Vec<i64> {
    e.tick_events()
        .iter()
        .filter_map(|ev| match ev.kind {
            EventKind::LsmQueue2Settlement { amount, .. } => Some(amount),
            _ => None,
        })
        .collect()
}

/// Triangle A→B (60 and 40), B→C 100, C→A 130, and a chain of 30s into C through `links`
/// (D→C, E→D, …); only the last link's sender holds 30, everyone else nothing.
fn triangle_fed_by_chain(links: &[&str]) -> Engine {
    let mut bal = vec![("A", 0), ("B", 0), ("C", 0)];
    let mut pays = vec![("A", "B", 60), ("A", "B", 40), ("B", "C", 100), ("C", "A", 130)];
    let mut to = "C";
    for (i, &from) in links.iter().enumerate() {
        bal.push((from, if i + 1 == links.len() { 30 } else { 0 }));
        pays.push((from, to, 30));
        to = from;
    }
    run(&bal, &pays, 3)
}

#[test]
fn a_queue_pass_that_frees_a_payment_earns_another_round_for_the_cycles() {
    // Triangle A→B (60 and 40: two payments on one edge), B→C 100, C→A 130: nets A +30,
    // B 0, C −30, and C starts with nothing. A chain feeds C: F (30) pays E at once in step 3;
    // E→D settles in the step-4 pass, after D→C was already passed over (Queue-2 order is
    // by sender: D→C, E→D). Round 1: the triangle fails (C short) and the LSM's queue pass
    // settles D→C, so C holds 30. SimCash counts that pass's value as progress, so round 2
    // runs and the triangle settles with all four payments at full value.
    let e = triangle_fed_by_chain(&["D", "E", "F"]);
    assert_eq!(queue_pass(&e), [30]);
    assert_eq!(cycles(&e), [(vec![0, 1, 2, 0], vec![60, 40, 100, 130], 330, vec![30, 0, -30, 30], 30, Some(2))]);
    assert_eq!(balances(&e), [30, 0, 0, 0, 0, 0]);
    assert!(e.queue2().is_empty());
}

#[test]
fn the_cycles_get_at_most_three_rounds_a_tick() {
    // The same triangle, fed through a chain one link longer: H (30) → G in step 3, G→F in
    // step 4, then the LSM's queue passes settle F→E (round 1), E→D (round 2) and D→C
    // (round 3). C can fund its net only after the third round, and there is no fourth.
    let e = triangle_fed_by_chain(&["D", "E", "F", "G", "H"]);
    assert_eq!(queue_pass(&e), [30, 30, 30]);
    assert!(cycles(&e).is_empty());
    assert_eq!(e.queue2().len(), 4);
    assert_eq!(balances(&e), [0, 0, 30, 0, 0, 0, 0, 0]);
}
