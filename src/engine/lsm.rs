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
}

impl Edges {
    fn get(&self, from: AgentIdx, to: AgentIdx) -> Option<&Edge> {
        self.list.binary_search_by(|e| (e.from, e.to).cmp(&(from, to))).ok().map(|i| &self.list[i])
    }

    fn txs(&self, e: &Edge) -> &[TxId] {
        &self.txs[e.start..e.end]
    }

    /// Edges leaving `from` (sorted by target).
    fn out_of(&self, from: AgentIdx) -> &[Edge] {
        let lo = self.list.partition_point(|e| e.from < from);
        let hi = self.list.partition_point(|e| e.from <= from);
        &self.list[lo..hi]
    }
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
        let mut items: Vec<(AgentIdx, AgentIdx, TxId, Cents)> = self
            .queue2
            .iter()
            .map(|&id| {
                let tx = &self.txs[id.0 as usize];
                (tx.sender, tx.receiver, id, tx.remaining)
            })
            .collect();
        // Stable: payments on one edge keep their Queue-2 order.
        items.sort_by_key(|x| (x.0, x.1));
        let mut edges = Edges { list: Vec::new(), txs: Vec::with_capacity(items.len()) };
        for (i, &(from, to, id, amount)) in items.iter().enumerate() {
            match edges.list.last_mut() {
                Some(e) if e.from == from && e.to == to => {
                    e.sum += amount;
                    e.end = i + 1;
                }
                _ => edges.list.push(Edge { from, to, sum: amount, start: i, end: i + 1 }),
            }
            edges.txs.push(id);
        }
        edges
    }

    /// Step 5: up to three rounds of bilateral offsetting then cycles, while progress is made.
    /// Progress is SimCash's settled value: offset pairs, settled cycles and what the silent
    /// Queue-2 passes settle, so a round whose cycles all fail but whose queue pass frees a
    /// payment is followed by another round. The Queue-2 graph is rebuilt only after Queue 2
    /// changed.
    pub(crate) fn run_lsm(&mut self) {
        let lsm = self.cfg.lsm;
        let mut seen_pairs = BTreeSet::new();
        let mut settled_value: Cents = 0;
        let mut iterations = 0;
        let mut graph: Option<Edges> = None;
        while iterations < 3 && !self.queue2.is_empty() {
            iterations += 1;
            let before = settled_value;
            if lsm.enable_bilateral {
                let g = graph.get_or_insert_with(|| self.edges());
                let (offset_value, settled) = self.bilateral_offset(&mut seen_pairs, g);
                settled_value += offset_value;
                if settled > 0 {
                    graph = None;
                    settled_value += self.queue2_pass_inner(true).1;
                }
            }
            if lsm.enable_cycles && !self.queue2.is_empty() {
                let g = graph.get_or_insert_with(|| self.edges());
                let candidates = self.detect_cycles(g, lsm.max_cycle_length, lsm.max_cycles_per_tick as usize);
                let mut changed = false;
                for c in &candidates {
                    if self.settle_cycle(c) {
                        changed = true;
                        settled_value += c.total_value;
                        self.counts.num_lsm_releases += 1;
                        self.counts.num_settlements += 1;
                    }
                }
                if changed {
                    self.queue2.retain(|id| !self.txs[id.0 as usize].is_settled());
                }
                if !candidates.is_empty() {
                    let (n, value) = self.queue2_pass_inner(true);
                    settled_value += value;
                    changed |= n > 0;
                }
                if changed {
                    graph = None;
                }
            }
            if settled_value == before {
                break;
            }
        }
    }

    /// One bilateral round. Returns (Σ min(sum_ab, sum_ba) over popped pairs, payments settled).
    fn bilateral_offset(&mut self, seen_pairs: &mut BTreeSet<(AgentIdx, AgentIdx)>, edges: &Edges) -> (Cents, u32) {
        let mut pairs: Vec<(AgentIdx, AgentIdx, Cents)> = edges
            .list
            .iter()
            .filter(|e| e.from < e.to)
            .filter_map(|e| edges.get(e.to, e.from).map(|back| (e.from, e.to, e.sum.min(back.sum))))
            .collect();
        pairs.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
        let mut offset_value = 0;
        let mut settled = 0;
        for (a, b, min) in pairs {
            self.counts.num_lsm_releases += 1;
            self.counts.num_settlements += 1;
            offset_value += min;
            let ab = *edges.get(a, b).expect("pair edges exist");
            let ba = *edges.get(b, a).expect("pair edges exist");
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
            self.queue2.retain(|id| !self.txs[id.0 as usize].is_settled());
        }
        (offset_value, settled)
    }

    /// The first `limit` cycle candidates: triangles u→v→w→u with u<v<w, then
    /// per-payment simple cycles of 4..=max_len edges found by DFS, in stable order of
    /// value, largest first. (Every candidate has at least three distinct agents.)
    fn detect_cycles(&self, edges: &Edges, max_len: u32, limit: usize) -> Vec<Cycle> {
        let mut best = Best::new(limit.max(1));
        for uv in edges.list.iter().filter(|e| e.to > e.from) {
            let (u, v) = (uv.from, uv.to);
            for vw in edges.out_of(v).iter().filter(|e| e.to > v) {
                let w = vw.to;
                if let Some(wu) = edges.get(w, u) {
                    best.offer(uv.sum + vw.sum + wu.sum, || Cycle {
                        agents: vec![u, v, w, u],
                        txs: edges.txs(uv).iter().chain(edges.txs(vw)).chain(edges.txs(wu)).copied().collect(),
                        total_value: uv.sum + vw.sum + wu.sum,
                    });
                }
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
            let tx = &self.txs[id.0 as usize];
            for a in [tx.sender, tx.receiver] {
                if local[a as usize] == usize::MAX {
                    local[a as usize] = m;
                    m += 1;
                }
            }
        }
        let mut g = Multigraph { out: BTreeMap::new(), between: vec![(Cents::MIN, Vec::new()); m * m], local, m, max_len };
        for &id in &self.queue2 {
            let tx = &self.txs[id.0 as usize];
            g.out.entry(tx.sender).or_default().push((tx.receiver, id, tx.remaining));
            let (largest, payments) = g.pair_mut(tx.sender, tx.receiver);
            *largest = (*largest).max(tx.remaining);
            payments.push((id, tx.remaining));
        }

        let mut path = Trail { agents: Vec::with_capacity(max_len + 1), txs: Vec::with_capacity(max_len), on: vec![false; n] };
        for &start in g.out.keys() {
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
            let tx = &self.txs[id.0 as usize];
            tx.is_settled() || tx.rtgs_priority.is_none()
        }) {
            return false;
        }
        let mut net: BTreeMap<AgentIdx, Cents> = BTreeMap::new();
        for id in &c.txs {
            let tx = &self.txs[id.0 as usize];
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
        let tx_amounts = c.txs.iter().map(|id| self.txs[id.0 as usize].amount).collect();
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
        if len + 1 == g.max_len {
            // The next edge must close the cycle: skip `to` if no payment back could be kept.
            let (largest, back) = g.pair(to, start);
            if back.is_empty() || !best.wants(value + amount + largest) {
                continue;
            }
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
