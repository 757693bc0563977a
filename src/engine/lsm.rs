//! Liquidity-saving mechanism (step 5): bilateral offsetting and multilateral cycles, with
//! SimCash's candidate order and quirks (ENGINE-SPEC §3.3–3.5, Q-2, Q-4, Q-5, Q-6).

use std::collections::{BTreeMap, BTreeSet};

use super::Engine;
use super::config::Cents;
use super::event::{AgentIdx, EventKind, TxId};
use super::settle::{Credit, Path};

/// One directed edge of the Queue-2 graph: its sum and its payments (Queue-2 order) as a
/// range of [`Edges::txs`].
#[derive(Debug, Clone, Copy)]
struct Edge {
    from: AgentIdx,
    to: AgentIdx,
    sum: Cents,
    start: usize,
    end: usize,
}

/// The aggregated Queue-2 graph, edges sorted by (from, to).
#[derive(Debug, Default)]
struct Edges {
    list: Vec<Edge>,
    txs: Vec<TxId>,
    /// The edges leaving agent `a` are `list[starts[a]..starts[a + 1]]`.
    starts: Vec<usize>,
}

impl Edges {
    fn get(&self, from: AgentIdx, to: AgentIdx) -> Option<&Edge> {
        let out = self.out_of(from);
        out.binary_search_by_key(&to, |e| e.to).ok().map(|i| &out[i])
    }

    fn txs(&self, e: &Edge) -> &[TxId] {
        &self.txs[e.start..e.end]
    }

    /// Edges leaving `from` (sorted by target).
    fn out_of(&self, from: AgentIdx) -> &[Edge] {
        &self.list[self.starts[from as usize]..self.starts[from as usize + 1]]
    }

    /// Edges leaving `from` towards agents numbered above `above`.
    fn out_above(&self, from: AgentIdx, above: AgentIdx) -> &[Edge] {
        let out = self.out_of(from);
        &out[out.partition_point(|e| e.to <= above)..]
    }
}

/// A queued payment as the graph needs it: (sender, receiver, payment, remaining amount).
type Queued = (AgentIdx, AgentIdx, TxId, Cents);

/// `items` stably sorted by `key` (an agent, below `n`): a counting sort.
fn counting_sort<T: Copy>(items: &[T], n: usize, key: impl Fn(&T) -> AgentIdx) -> Vec<T> {
    let mut next = vec![0usize; n + 1];
    for q in items {
        next[key(q) as usize + 1] += 1;
    }
    for i in 0..n {
        next[i + 1] += next[i];
    }
    let mut out = items.to_vec();
    for q in items {
        let k = key(q) as usize;
        out[next[k]] = *q;
        next[k] += 1;
    }
    out
}

/// A candidate cycle: closed agent list and the payments on it.
#[derive(Debug, Clone)]
struct Cycle {
    agents: Vec<AgentIdx>,
    txs: Vec<TxId>,
    total_value: Cents,
}

/// The largest Queue-2 size for which longer cycles are searched (SimCash's cap).
const DFS_QUEUE_LIMIT: usize = 100;

/// The first `k` cycles in candidate order (value, largest first; ties in the order found),
/// kept while cycles are found: a cycle that cannot be among them is never built.
struct Best {
    k: usize,
    /// (value, order found, cycle).
    kept: Vec<(Cents, usize, Cycle)>,
    found: usize,
    /// Once `k` are kept, the smallest kept value: a later cycle of equal value comes after
    /// those in candidate order, so only a larger value gets in.
    floor: Option<Cents>,
}

impl Best {
    fn new(k: usize) -> Best {
        Best { k, kept: Vec::with_capacity(k + 1), found: 0, floor: None }
    }

    /// Whether a cycle of `value` found now would be kept.
    fn wants(&self, value: Cents) -> bool {
        self.floor.is_none_or(|f| value > f)
    }

    /// Offers a cycle of `value`; `build` makes it only if it is kept.
    fn offer(&mut self, value: Cents, build: impl FnOnce() -> Cycle) {
        let order = self.found;
        self.found += 1;
        if !self.wants(value) {
            return;
        }
        if self.kept.len() == self.k {
            // Out goes the worst kept: smallest value, found last among those.
            let (worst, _) = self.kept.iter().enumerate().min_by_key(|(_, (v, o, _))| (*v, std::cmp::Reverse(*o))).expect("k ≥ 1");
            self.kept.swap_remove(worst);
        }
        self.kept.push((value, order, build()));
        if self.kept.len() == self.k {
            self.floor = self.kept.iter().map(|(v, _, _)| *v).min();
        }
    }

    /// The kept cycles in candidate order.
    fn into_sorted(mut self) -> Vec<Cycle> {
        self.kept.sort_by_key(|(v, o, _)| (std::cmp::Reverse(*v), *o));
        self.kept.into_iter().map(|(_, _, c)| c).collect()
    }
}

impl Engine {
    fn edges(&self) -> Edges {
        let n = self.agents.len();
        let queued: Vec<Queued> = self
            .queue2
            .iter()
            .map(|&id| {
                let tx = &self.txs[id];
                (tx.sender, tx.receiver, id, tx.remaining)
            })
            .collect();
        // Stable by (sender, receiver), so payments on one edge keep their Queue-2 order.
        let sorted = counting_sort(&counting_sort(&queued, n, |q| q.1), n, |q| q.0);
        let mut edges = Edges { list: Vec::new(), txs: Vec::with_capacity(sorted.len()), starts: vec![0; n + 1] };
        for (i, &(from, to, id, amount)) in sorted.iter().enumerate() {
            match edges.list.last_mut() {
                Some(e) if e.from == from && e.to == to => {
                    e.sum += amount;
                    e.end = i + 1;
                }
                _ => {
                    edges.list.push(Edge { from, to, sum: amount, start: i, end: i + 1 });
                    edges.starts[from as usize + 1] += 1;
                }
            }
            edges.txs.push(id);
        }
        for a in 0..n {
            edges.starts[a + 1] += edges.starts[a];
        }
        edges
    }

    /// Step 5: up to three rounds of bilateral offsetting then cycles, while progress is made.
    /// Progress is SimCash's settled value: offset pairs, settled cycles and what the silent
    /// Queue-2 passes settle, so a round whose cycles all fail but whose queue pass frees a
    /// payment is followed by another round. The Queue-2 graph is rebuilt only after Queue 2
    /// changed, and a round after one that settled nothing is not searched again: it would
    /// offer the same pairs and cycles and settle nothing, so only its counts are added.
    pub(crate) fn run_lsm(&mut self) {
        let lsm = self.cfg.lsm;
        let mut seen_pairs = BTreeSet::new();
        let mut settled_value: Cents = 0;
        let mut iterations = 0;
        let mut graph: Option<Edges> = None;
        // A round that settled nothing: its offset value and number of pairs.
        let mut idle: Option<(Cents, u32)> = None;
        while iterations < 3 && !self.queue2.is_empty() {
            iterations += 1;
            let before = settled_value;
            if let Some((offset_value, pairs)) = idle {
                settled_value += offset_value;
                self.counts.num_lsm_releases += pairs;
                self.counts.num_settlements += pairs;
                if settled_value == before {
                    break;
                }
                continue;
            }
            let mut changed = false;
            let mut bilateral = (0, 0);
            if lsm.enable_bilateral {
                let g = graph.get_or_insert_with(|| self.edges());
                let (offset_value, pairs, settled) = self.bilateral_offset(&mut seen_pairs, g);
                bilateral = (offset_value, pairs);
                settled_value += offset_value;
                if settled > 0 {
                    changed = true;
                    graph = None;
                    settled_value += self.queue2_pass_inner(true).1;
                }
            }
            if lsm.enable_cycles && !self.queue2.is_empty() {
                let g = graph.get_or_insert_with(|| self.edges());
                let candidates = self.detect_cycles(g, lsm.max_cycle_length, lsm.max_cycles_per_tick as usize);
                let mut settled = false;
                for c in &candidates {
                    if self.settle_cycle(c) {
                        settled = true;
                        settled_value += c.total_value;
                        self.counts.num_lsm_releases += 1;
                        self.counts.num_settlements += 1;
                    }
                }
                if settled {
                    self.queue2.retain(|id| !self.txs[id].is_settled());
                }
                if !candidates.is_empty() {
                    let (n, value) = self.queue2_pass_inner(true);
                    settled_value += value;
                    settled |= n > 0;
                }
                if settled {
                    changed = true;
                    graph = None;
                }
            }
            if !changed {
                idle = Some(bilateral);
            }
            if settled_value == before {
                break;
            }
        }
    }

    /// One bilateral round. Returns (Σ min(sum_ab, sum_ba) over popped pairs, pairs, payments
    /// settled).
    fn bilateral_offset(&mut self, seen_pairs: &mut BTreeSet<(AgentIdx, AgentIdx)>, edges: &Edges) -> (Cents, u32, u32) {
        let mut pairs: Vec<(Cents, &Edge, &Edge)> =
            edges.list.iter().filter(|e| e.from < e.to).filter_map(|ab| edges.get(ab.to, ab.from).map(|ba| (ab.sum.min(ba.sum), ab, ba))).collect();
        // Largest offset first, then by agents; the list is in (a, b) order already.
        pairs.sort_by_key(|p| std::cmp::Reverse(p.0));
        let mut offset_value = 0;
        let mut settled = 0;
        let count = pairs.len() as u32;
        for (min, &ab, &ba) in pairs {
            let (a, b) = (ab.from, ab.to);
            self.counts.num_lsm_releases += 1;
            self.counts.num_settlements += 1;
            offset_value += min;
            let (ab_txs, ba_txs) = (edges.txs(&ab), edges.txs(&ba));
            // The net sender is the side with the larger sum (b→a on a tie, net 0).
            let (net_sender, net) = if ab.sum > ba.sum { (a, ab.sum - ba.sum) } else { (b, ba.sum - ab.sum) };
            let ns = &self.agents[net_sender as usize];
            let feasible = ns.balance - net >= -ns.allowed_overdraft_limit();
            if feasible {
                for &id in ab_txs.iter().chain(ba_txs) {
                    self.settle_tx(id, Credit::AsConfigured, Path::Lsm);
                    settled += 1;
                }
            }
            let tx_ids = ab_txs.iter().chain(ba_txs).copied().collect();
            let (amount_a, amount_b) = (ab.sum, ba.sum);
            if seen_pairs.insert((a, b)) {
                self.emit(EventKind::LsmBilateralOffset { agent_a: a, agent_b: b, amount_a, amount_b, tx_ids, settled: feasible });
            } else if feasible {
                self.emit(EventKind::LsmBilateralSettlement { agent_a: a, agent_b: b, amount_a, amount_b, tx_ids });
            }
        }
        if settled > 0 {
            self.queue2.retain(|id| !self.txs[id].is_settled());
        }
        (offset_value, count, settled)
    }

    /// The first `limit` cycle candidates: triangles u→v→w→u with u<v<w, then
    /// per-payment simple cycles of 4..=max_len edges found by DFS, in stable order of
    /// value, largest first. (Every candidate has at least three distinct agents.)
    fn detect_cycles(&self, edges: &Edges, max_len: u32, limit: usize) -> Vec<Cycle> {
        let mut best = Best::new(limit.max(1));
        let n = self.agents.len();
        // For each agent v, the largest sum on an edge to an agent above v: with the largest
        // sum into u, a bound on every triangle through u→v, so that once `best` is full the
        // pairs that cannot reach it are skipped without changing what it keeps.
        let mut largest_out_above = vec![0; n];
        for e in edges.list.iter().filter(|e| e.to > e.from) {
            largest_out_above[e.from as usize] = largest_out_above[e.from as usize].max(e.sum);
        }
        // Edge numbers by target agent.
        let into = counting_sort(&(0..edges.list.len()).collect::<Vec<_>>(), n, |&i| edges.list[i].to);
        // `closing[w]`: the edge w→u of the current u, if any.
        let mut closing = vec![usize::MAX; n];
        let mut into_start = 0;
        for u in 0..n as AgentIdx {
            let into_end = into_start + into[into_start..].partition_point(|&i| edges.list[i].to <= u);
            let into_u = &into[into_start..into_end];
            into_start = into_end;
            let mut largest_in = None;
            for &i in into_u.iter().filter(|&&i| edges.list[i].from > u) {
                closing[edges.list[i].from as usize] = i;
                largest_in = largest_in.max(Some(edges.list[i].sum));
            }
            let Some(largest_in) = largest_in else { continue };
            for uv in edges.out_above(u, u) {
                let v = uv.to;
                if !best.wants(uv.sum + largest_out_above[v as usize] + largest_in) {
                    continue;
                }
                for vw in edges.out_above(v, v) {
                    let Some(wu) = edges.list.get(closing[vw.to as usize]) else { continue };
                    let value = uv.sum + vw.sum + wu.sum;
                    best.offer(value, || Cycle {
                        agents: vec![u, v, vw.to, u],
                        txs: edges.txs(uv).iter().chain(edges.txs(vw)).chain(edges.txs(wu)).copied().collect(),
                        total_value: value,
                    });
                }
            }
            for &i in into_u {
                closing[edges.list[i].from as usize] = usize::MAX;
            }
        }
        if max_len >= 4 && self.queue2.len() <= DFS_QUEUE_LIMIT {
            self.dfs_cycles(max_len as usize, &mut best);
        }
        best.into_sorted()
    }

    /// Per-payment DFS over the Queue-2 multigraph: every simple cycle of 4..=max_len edges
    /// from each start agent (sorted), one payment per edge, every rotation and parallel
    /// combination a separate candidate, offered in the order found.
    fn dfs_cycles(&self, max_len: usize, best: &mut Best) {
        let n = self.agents.len();
        // The agents with queued payments, numbered 0..m: `between` is m × m.
        let mut local = vec![usize::MAX; n];
        let mut m = 0;
        for &id in &self.queue2 {
            let tx = &self.txs[id];
            for a in [tx.sender, tx.receiver] {
                if local[a as usize] == usize::MAX {
                    local[a as usize] = m;
                    m += 1;
                }
            }
        }
        let mut g = Multigraph { out: BTreeMap::new(), between: vec![(Cents::MIN, Vec::new()); m * m], local, m, max_len, reach: Vec::new() };
        for &id in &self.queue2 {
            let tx = &self.txs[id];
            g.out.entry(tx.sender).or_default().push((tx.receiver, id, tx.remaining));
            let (largest, payments) = g.pair_mut(tx.sender, tx.receiver);
            *largest = (*largest).max(tx.remaining);
            payments.push((id, tx.remaining));
        }

        // The pairs with payments, as (from, to, largest payment) in local numbers.
        let pairs: Vec<(usize, usize, Cents)> = (0..m * m).filter(|&i| !g.between[i].1.is_empty()).map(|i| (i / m, i % m, g.between[i].0)).collect();
        let mut path = Trail { agents: Vec::with_capacity(max_len + 1), txs: Vec::with_capacity(max_len), on: vec![false; n] };
        let starts: Vec<AgentIdx> = g.out.keys().copied().collect();
        for start in starts {
            g.reach = reach(&pairs, m, g.local[start as usize], max_len - 1);
            path.agents.clear();
            path.txs.clear();
            path.agents.push(start);
            path.on.fill(false);
            path.on[start as usize] = true;
            dfs(&g, start, start, &mut path, 0, best);
        }
    }

    /// Settles a cycle atomically if every payment is still queued and every net payer can
    /// fund its net position; emits LsmCycleSettlement.
    fn settle_cycle(&mut self, c: &Cycle) -> bool {
        if c.txs.iter().any(|id| {
            let tx = &self.txs[id];
            tx.is_settled() || tx.rtgs_priority.is_none()
        }) {
            return false;
        }
        let mut net: BTreeMap<AgentIdx, Cents> = BTreeMap::new();
        for id in &c.txs {
            let tx = &self.txs[id];
            *net.entry(tx.receiver).or_default() += tx.remaining;
            *net.entry(tx.sender).or_default() -= tx.remaining;
        }
        if net.values().sum::<Cents>() != 0 {
            return false;
        }
        for (&agent, &n) in &net {
            if n < 0 {
                let a = &self.agents[agent as usize];
                if a.available_liquidity() < -n || a.balance + n < -a.allowed_overdraft_limit() {
                    return false;
                }
            }
        }
        let tx_amounts = c.txs.iter().map(|id| self.txs[id].amount).collect();
        for &id in &c.txs {
            self.settle_tx(id, Credit::AsConfigured, Path::Lsm);
        }
        let net_positions: Vec<Cents> = c.agents.iter().map(|a| net.get(a).copied().unwrap_or(0)).collect();
        let mut max_out = 0;
        let mut max_agent: Option<AgentIdx> = None;
        for (&agent, &n) in &net {
            // Ties go to the lexicographically last agent: ascending scan with >=.
            if n < 0 && -n >= max_out {
                max_out = -n;
                max_agent = Some(agent);
            }
        }
        self.emit(EventKind::LsmCycleSettlement {
            agents: c.agents.clone(),
            tx_amounts,
            total_value: c.total_value,
            net_positions,
            max_net_outflow: max_out,
            max_net_outflow_agent: max_agent,
            tx_ids: c.txs.clone(),
        });
        true
    }
}

/// Queue 2 as a multigraph: each agent's payments in queue order, and the payments between
/// each ordered pair (largest amount, then the payments in queue order).
struct Multigraph {
    out: BTreeMap<AgentIdx, Vec<(AgentIdx, TxId, Cents)>>,
    /// Largest amount, then the payments.
    between: Vec<(Cents, Vec<(TxId, Cents)>)>,
    /// Each agent's number among those with queued payments (`between` is indexed
    /// `from * m + to` with these numbers).
    local: Vec<usize>,
    m: usize,
    max_len: usize,
    /// For the current start: `reach[(r - 1) * m + x]` bounds what `r` or fewer more edges
    /// from `x` back to the start can add ([`reach`]).
    reach: Vec<Cents>,
}

/// For each agent x (local numbers) and r in 1..=max_r: the largest value of a walk of at
/// most r edges from x to `start`, taking each edge's largest payment (`Cents::MIN` when
/// there is none). No cycle can add more, so the DFS skips branches that could not be kept.
fn reach(pairs: &[(usize, usize, Cents)], m: usize, start: usize, max_r: usize) -> Vec<Cents> {
    let mut out = vec![Cents::MIN; max_r * m];
    // Exactly r edges, then at most r.
    let mut exact = vec![Cents::MIN; m];
    for &(from, to, largest) in pairs.iter().filter(|p| p.1 == start) {
        exact[from] = exact[from].max(largest);
        debug_assert_eq!(to, start);
    }
    out[..m].copy_from_slice(&exact);
    for r in 2..=max_r {
        let mut longer = vec![Cents::MIN; m];
        for &(from, to, largest) in pairs {
            if exact[to] != Cents::MIN {
                longer[from] = longer[from].max(largest + exact[to]);
            }
        }
        exact = longer;
        for x in 0..m {
            out[(r - 1) * m + x] = out[(r - 2) * m + x].max(exact[x]);
        }
    }
    out
}

impl Multigraph {
    fn index(&self, from: AgentIdx, to: AgentIdx) -> usize {
        self.local[from as usize] * self.m + self.local[to as usize]
    }

    /// The largest payment from `from` to `to`, and all of them in queue order.
    fn pair(&self, from: AgentIdx, to: AgentIdx) -> &(Cents, Vec<(TxId, Cents)>) {
        &self.between[self.index(from, to)]
    }

    fn pair_mut(&mut self, from: AgentIdx, to: AgentIdx) -> &mut (Cents, Vec<(TxId, Cents)>) {
        let i = self.index(from, to);
        &mut self.between[i]
    }
}

/// The DFS's current path: agents from the start, and one payment per edge.
struct Trail {
    agents: Vec<AgentIdx>,
    txs: Vec<TxId>,
    /// Whether each agent is on it.
    on: Vec<bool>,
}

impl Trail {
    fn closed_by(&self, start: AgentIdx, id: TxId, value: Cents) -> Cycle {
        let mut agents = Vec::with_capacity(self.agents.len() + 1);
        agents.extend_from_slice(&self.agents);
        agents.push(start);
        let mut txs = Vec::with_capacity(self.txs.len() + 1);
        txs.extend_from_slice(&self.txs);
        txs.push(id);
        Cycle { agents, txs, total_value: value }
    }
}

/// Extends `path` (ending at `node`, worth `value`) by every payment out of `node`, in queue
/// order: a payment back to `start` closes a cycle of at least 4 edges; one to a new agent
/// goes deeper while the cycle can still close within `max_len` edges.
fn dfs(g: &Multigraph, start: AgentIdx, node: AgentIdx, path: &mut Trail, value: Cents, best: &mut Best) {
    let len = path.txs.len() + 1;
    if len == g.max_len {
        // Only an edge back to the start can follow: those payments alone, in queue order
        // (all skipped at once when even the largest would not be kept).
        let (largest, back) = g.pair(node, start);
        if len < 4 || back.is_empty() || !best.wants(value + largest) {
            return;
        }
        for &(id, amount) in back {
            best.offer(value + amount, || path.closed_by(start, id, value + amount));
        }
        return;
    }
    let Some(next) = g.out.get(&node) else { return };
    for &(to, id, amount) in next {
        if to == start {
            if len >= 4 {
                best.offer(value + amount, || path.closed_by(start, id, value + amount));
            }
            continue;
        }
        if path.on[to as usize] {
            continue;
        }
        // Skip `to` if no way back from it could make a cycle worth keeping.
        let bound = g.reach[(g.max_len - len - 1) * g.m + g.local[to as usize]];
        if bound == Cents::MIN || !best.wants(value + amount + bound) {
            continue;
        }
        path.agents.push(to);
        path.txs.push(id);
        path.on[to as usize] = true;
        dfs(g, start, to, path, value + amount, best);
        path.on[to as usize] = false;
        path.agents.pop();
        path.txs.pop();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::Engine;
    use super::super::config::Cents;
    use super::super::event::{AgentIdx, TxId};

    /// An engine whose Queue 2 holds `payments` (from, to, amount) in order: no liquidity, no
    /// LSM, one tick.
    fn queued(agents: usize, payments: &[(usize, usize, Cents)]) -> Engine {
        let mut yaml =
            String::from("simulation: {ticks_per_day: 2, num_days: 1, rng_seed: 1}\nlsm_config: {enable_bilateral: false, enable_cycles: false}\nagents:\n");
        for a in 0..agents {
            yaml.push_str(&format!("  - {{id: A{a}, opening_balance: 0}}\n"));
        }
        yaml.push_str("scenario_events:\n");
        for (from, to, amount) in payments {
            yaml.push_str(&format!(
                "  - {{type: CustomTransactionArrival, from_agent: A{from}, to_agent: A{to}, amount: {amount}, deadline: 1, schedule: {{type: OneTime, tick: 0}}}}\n"
            ));
        }
        let mut e = Engine::new(crate::scenario::load_str("t.yaml", &yaml).unwrap().config).unwrap();
        e.step().unwrap();
        assert_eq!(e.queue2().len(), payments.len());
        e
    }

    /// Every candidate in the order SimCash finds them, with nothing skipped: triangles
    /// u<v<w by agents, then each start's per-payment cycles of 4..=max_len edges.
    fn every_candidate(e: &Engine, max_len: usize) -> Vec<(Cents, Vec<AgentIdx>, Vec<TxId>)> {
        let mut out: BTreeMap<AgentIdx, Vec<(AgentIdx, TxId, Cents)>> = BTreeMap::new();
        let mut between: BTreeMap<(AgentIdx, AgentIdx), Vec<TxId>> = BTreeMap::new();
        for &id in e.queue2() {
            let tx = &e.transactions()[id];
            out.entry(tx.sender).or_default().push((tx.receiver, id, tx.remaining));
            between.entry((tx.sender, tx.receiver)).or_default().push(id);
        }
        let sum = |p: &(AgentIdx, AgentIdx)| between.get(p).map(|ids| ids.iter().map(|id| e.transactions()[*id].remaining).sum::<Cents>());
        let mut found = Vec::new();
        let n = e.agents().len() as AgentIdx;
        for u in 0..n {
            for v in u + 1..n {
                for w in v + 1..n {
                    if let (Some(a), Some(b), Some(c)) = (sum(&(u, v)), sum(&(v, w)), sum(&(w, u))) {
                        let txs = [(u, v), (v, w), (w, u)].iter().flat_map(|p| between[p].clone()).collect();
                        found.push((a + b + c, vec![u, v, w, u], txs));
                    }
                }
            }
        }
        fn walk(
            out: &BTreeMap<AgentIdx, Vec<(AgentIdx, TxId, Cents)>>,
            start: AgentIdx,
            path: &mut Vec<AgentIdx>,
            txs: &mut Vec<TxId>,
            value: Cents,
            max_len: usize,
            found: &mut Vec<(Cents, Vec<AgentIdx>, Vec<TxId>)>,
        ) {
            let node = *path.last().unwrap();
            for &(to, id, amount) in out.get(&node).map(Vec::as_slice).unwrap_or_default() {
                let len = txs.len() + 1;
                if to == start {
                    if len >= 4 {
                        let mut agents = path.clone();
                        agents.push(start);
                        let mut ids = txs.clone();
                        ids.push(id);
                        found.push((value + amount, agents, ids));
                    }
                } else if !path.contains(&to) && len < max_len {
                    path.push(to);
                    txs.push(id);
                    walk(out, start, path, txs, value + amount, max_len, found);
                    path.pop();
                    txs.pop();
                }
            }
        }
        if max_len >= 4 && e.queue2().len() <= super::DFS_QUEUE_LIMIT {
            for &start in out.keys() {
                walk(&out, start, &mut vec![start], &mut Vec::new(), 0, max_len, &mut found);
            }
        }
        found
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// The search with its bounds keeps exactly the first `limit` of every candidate in
        /// candidate order (value, largest first; ties in the order found).
        #[test]
        fn pruned_search_keeps_the_first_candidates_of_the_full_enumeration(
            agents in 3usize..7,
            raw in proptest::collection::vec((0usize..7, 1usize..7, 1i64..6), 0..40),
            max_len in 3u32..7,
            limit in 1usize..6,
        ) {
            let payments: Vec<(usize, usize, Cents)> =
                raw.iter().map(|&(f, d, a)| (f % agents, (f + d % (agents - 1).max(1) + 1) % agents, a)).filter(|p| p.0 != p.1).collect();
            let e = queued(agents, &payments);
            let got: Vec<_> = e.detect_cycles(&e.edges(), max_len, limit).into_iter().map(|c| (c.total_value, c.agents, c.txs)).collect();
            let mut want = every_candidate(&e, max_len as usize);
            want.sort_by_key(|c| std::cmp::Reverse(c.0));
            want.truncate(limit);
            prop_assert_eq!(got, want);
        }
    }
}
