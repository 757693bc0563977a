//! [`ParquetSink`]: streams one simulation into the dataset.
//!
//! Rows are collected on the simulation thread. A run's full batches cross a bounded
//! channel to a writer thread that encodes Parquet asynchronously over object_store (one new
//! data file per table in the experiment's partition), so memory stays bounded and the
//! engine only waits when the writer falls behind; a batch worker's are encoded on its own
//! thread into its spooled committer's files. `finish` completes the files and hands them,
//! with the `simulations` row, to a [`Committer`]: the runner's shared one (group commit),
//! or a private one that commits at once.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder, TimestampMillisecondArray, UInt32Array, UInt64Array,
};
use sha2::{Digest, Sha256};

use super::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::engine::TickCounts;
use crate::engine::event::{AgentIdx, Event, EventKind, TxId};
use crate::state::StateProvider;
use crate::store::StoreError;
use crate::store::batch::{AgentCounters, AgentTickRow, EventColumns, TickRow, agent_ticks_batch, agent_values, ticks_batch};
use crate::store::commit::{Committer, GroupLimits, OnExisting, SPOOLED, SpoolFiles, Staged, is_committed};
use crate::store::delta::action::Add;
use crate::store::layout::runtime;
use crate::store::layout::{Dataset, SimulationKey};
use crate::store::registry::Keys;
use crate::store::row::EventRow;
use crate::store::schema::{SCHEMA_VERSION, SIMULATIONS};
use crate::store::table::{FileWriter, Table};
use crate::store::writer::Pages;

/// List items (transaction ids, agents, amounts) after which an `events` batch is sent even
/// if it has fewer than `batch_rows` rows: 1Mi items are 4–8 MB, so memory stays bounded when
/// a backed-up queue makes every LSM event list thousands of transactions.
const MAX_LIST_ITEMS: usize = 1 << 20;

/// How a simulation is written.
#[derive(Clone)]
pub struct WriterOptions {
    /// Rows per record batch sent to the writer.
    pub batch_rows: usize,
    /// Maximum rows per Parquet row group.
    pub row_group_rows: usize,
    /// Replace an existing simulation with the same id.
    pub overwrite: bool,
    /// Why the simulation ran (`run`, `evaluation`, `bootstrap`, …).
    pub purpose: String,
    /// Scenario name or path, for humans.
    pub scenario: String,
    /// Experiment simulations: the agent whose proposal is evaluated.
    pub agent: Option<String>,
    /// Experiment simulations: the sample index.
    pub sample: Option<u32>,
    /// Wall clock in milliseconds since the epoch (injected so tests can fix it).
    pub clock: crate::state::Clock,
    /// The runner's group committer; `None`: commit this simulation alone when it finishes.
    pub committer: Option<Arc<Committer>>,
    /// Rows of other tables (stored schema) committed right after this simulation.
    pub with_rows: Vec<(&'static str, RecordBatch)>,
}

impl std::fmt::Debug for WriterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterOptions").field("batch_rows", &self.batch_rows).field("overwrite", &self.overwrite).finish()
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_rows: 8 * 1024,
            row_group_rows: 64 * 1024,
            overwrite: false,
            purpose: "run".into(),
            scenario: String::new(),
            agent: None,
            sample: None,
            clock: crate::state::wall_clock(),
            committer: None,
            with_rows: Vec::new(),
        }
    }
}

/// Sender and receiver by transaction id. Ids are small sequential integers, so a multiply
/// hash spreads them well at a fraction of SipHash's cost; the map is never iterated, so its
/// order cannot reach the output.
type TxMap = std::collections::HashMap<TxId, (AgentIdx, AgentIdx), std::hash::BuildHasherDefault<TxHasher>>;

/// The hasher of [`TxMap`] (Fx-style multiply-rotate).
#[derive(Default)]
struct TxHasher(u64);

impl std::hash::Hasher for TxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// The tables of a simulation's data files, as indexes into [`SPOOLED`].
const EVENTS: usize = 0;
const AGENT_TICKS: usize = 1;
const TICKS: usize = 2;

/// What the sink sends its writer thread: a batch of a table (its index in [`SPOOLED`]),
/// or the end of the simulation's rows.
enum Msg {
    Batch(usize, RecordBatch),
    Finish,
}

/// Where the sink's batches are encoded.
enum Writer {
    /// Nowhere: before `begin`, or after the writer ended.
    Idle,
    /// A thread of its own, while the engine goes on: a simulation written to files of its own.
    Thread { sender: SyncSender<Msg>, handle: JoinHandle<Result<Written, StoreError>> },
    /// On the simulation's thread: a batch runner's spool files. Its workers already keep
    /// every core busy, and a thread per simulation only added spawning, cold allocator
    /// caches and frees across threads.
    Inline(Files),
}

/// Streams one simulation into a [`Dataset`] (see the module docs).
pub struct ParquetSink {
    dataset: Dataset,
    key: SimulationKey,
    opts: WriterOptions,
    /// The agent ids, as the dictionary values of the agent columns.
    agent_names: ArrayRef,
    ticks_per_day: u32,
    seq: u64,
    events: EventColumns,
    agent_rows: Vec<AgentTickRow>,
    tick_rows: Vec<TickRow>,
    balances: Vec<i64>,
    counters: Vec<AgentCounters>,
    /// Sender and receiver of each arrived transaction not yet settled or dropped (for the
    /// sent/received counters).
    parties: TxMap,
    meta: Option<SimulationMeta>,
    started_at: i64,
    writer: Writer,
    /// What the finished writer wrote.
    written: Written,
}

/// What the writer thread leaves behind.
enum Written {
    /// Nothing (not started, or aborted and cleaned up).
    Nothing,
    /// Completed data files of this simulation alone, by table.
    Files(Vec<(&'static str, Add)>),
    /// The spooled committer's open files, holding the simulation's rows (all of them, after
    /// `Finish`).
    Spool(SpoolFiles),
}

impl ParquetSink {
    /// A sink writing simulation `key` into `dataset`.
    pub fn new(dataset: Dataset, key: SimulationKey, opts: WriterOptions) -> ParquetSink {
        ParquetSink {
            dataset,
            key,
            opts,
            agent_names: agent_values(&[""; 0]),
            ticks_per_day: 1,
            seq: 0,
            events: EventColumns::new(agent_values(&[""; 0]), 0),
            agent_rows: Vec::new(),
            tick_rows: Vec::new(),
            balances: Vec::new(),
            counters: Vec::new(),
            parties: TxMap::default(),
            meta: None,
            started_at: 0,
            writer: Writer::Idle,
            written: Written::Nothing,
        }
    }

    /// The simulation being written.
    pub fn key(&self) -> &SimulationKey {
        &self.key
    }

    fn send(&mut self, table: usize, batch: RecordBatch) -> Result<(), StoreError> {
        match &mut self.writer {
            Writer::Thread { sender, .. } => {
                if sender.send(Msg::Batch(table, batch)).is_err() {
                    // The writer ended early: its error says why.
                    return Err(self.end_writer(false).err().unwrap_or(StoreError::WriterGone("channel closed".into())));
                }
                Ok(())
            }
            Writer::Inline(files) => {
                let written = files.write(table, batch);
                if written.is_err() {
                    self.writer = Writer::Idle;
                    self.lose_spool();
                }
                written
            }
            Writer::Idle => panic!("begin() starts the writer"),
        }
    }

    /// After a failed write to the spooled committer's shared files, which are in an unknown
    /// state: they go, with the rows of every simulation they held.
    fn lose_spool(&self) {
        if let Some(c) = self.opts.committer.as_ref().filter(|c| c.is_spooled()) {
            c.lose_spool(&self.key.experiment_id);
        }
    }

    /// Ends the writer: after every row (`finish`), or abandoning the simulation.
    fn end_writer(&mut self, finish: bool) -> Result<(), StoreError> {
        let written = match std::mem::replace(&mut self.writer, Writer::Idle) {
            Writer::Idle => return Ok(()),
            Writer::Thread { sender, handle } => {
                if finish {
                    // Refused only if the thread already ended, which joining reports.
                    let _ = sender.send(Msg::Finish);
                }
                drop(sender);
                handle.join().unwrap_or_else(|_| Err(StoreError::WriterGone("the writer thread panicked".into())))
            }
            Writer::Inline(files) if finish => files.finish(),
            Writer::Inline(files) => Ok(files.close()),
        };
        match written {
            Ok(w) => {
                self.written = w;
                Ok(())
            }
            Err(e) => {
                self.lose_spool();
                Err(e)
            }
        }
    }

    fn flush_events(&mut self) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        let b = self.events.finish().map_err(|source| StoreError::Arrow { table: "events", source })?;
        self.send(EVENTS, b)
    }

    fn flush_ticks(&mut self) -> Result<(), StoreError> {
        if self.agent_rows.is_empty() {
            return Ok(());
        }
        let b = agent_ticks_batch(&self.agent_rows, &self.agent_names).map_err(|source| StoreError::Arrow { table: "agent_ticks", source })?;
        self.agent_rows.clear();
        self.send(AGENT_TICKS, b)?;
        if self.tick_rows.is_empty() {
            return Ok(());
        }
        let b = ticks_batch(&self.tick_rows).map_err(|source| StoreError::Arrow { table: "ticks", source })?;
        self.tick_rows.clear();
        self.send(TICKS, b)
    }

    /// Updates the `cum_*` counters with one event: the same events the `transactions` view
    /// and `simulation_events` count.
    fn count(&mut self, e: &Event) {
        let settled = |c: &mut Vec<AgentCounters>, parties: &mut TxMap, tx: &TxId| {
            if let Some((s, r)) = parties.remove(tx) {
                c[s as usize].sent += 1;
                c[r as usize].received += 1;
            }
        };
        let (c, parties) = (&mut self.counters, &mut self.parties);
        match &e.kind {
            EventKind::Arrival { tx_id, sender_id, receiver_id, .. } => {
                c[*sender_id as usize].arrivals += 1;
                parties.insert(*tx_id, (*sender_id, *receiver_id));
            }
            EventKind::PolicyDrop { agent_id, tx_id, .. } => {
                c[*agent_id as usize].dropped += 1;
                parties.remove(tx_id);
            }
            EventKind::CollateralPost { agent_id, .. } => c[*agent_id as usize].collateral_posts += 1,
            EventKind::CollateralWithdraw { agent_id, .. } => c[*agent_id as usize].collateral_withdrawals += 1,
            other => {
                if let Some(s) = other.settled() {
                    s.tx_ids.iter().for_each(|tx| settled(c, parties, tx));
                }
            }
        }
    }

    fn simulations_batch(&self, summary: &RunSummary) -> Result<RecordBatch, StoreError> {
        let meta = self.meta.as_ref().expect("begin() stores the meta");
        let config_json = serde_json::to_string(&meta.config).expect("configs serialize");
        let config_hash: String = Sha256::digest(config_json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let policies: serde_json::Map<String, serde_json::Value> =
            meta.config.agents.iter().map(|a| (a.id.clone(), serde_json::to_value(&a.policy).expect("policies serialize"))).collect();
        let s = &summary.stats;
        let rate = if s.arrivals > 0 { s.settled as f64 / s.arrivals as f64 } else { 1.0 };
        let total_cost: i64 = summary.costs.iter().map(|c| c.total()).sum();
        let mut ids = ListBuilder::new(StringBuilder::new());
        for a in &meta.agent_ids {
            ids.values().append_value(a);
        }
        ids.append(true);
        let now = (self.opts.clock)();
        let str1 = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
        let utc = |ms: i64| -> ArrayRef { Arc::new(TimestampMillisecondArray::from(vec![ms]).with_timezone("UTC")) };
        let columns: Vec<ArrayRef> = vec![
            str1(&self.opts.purpose),
            str1(&self.opts.scenario),
            Arc::new(UInt64Array::from(vec![meta.config.rng_seed])),
            str1(&config_json),
            str1(&config_hash),
            str1(&serde_json::Value::Object(policies).to_string()),
            Arc::new(ids.finish()),
            Arc::new(UInt32Array::from(vec![meta.config.ticks_per_day])),
            Arc::new(UInt32Array::from(vec![meta.config.num_days])),
            Arc::new(UInt32Array::from(vec![summary.ticks])),
            str1("completed"),
            Arc::new(UInt64Array::from(vec![s.events])),
            Arc::new(UInt64Array::from(vec![s.arrivals])),
            Arc::new(UInt64Array::from(vec![s.settled])),
            Arc::new(Int64Array::from(vec![s.arrived_value])),
            Arc::new(Int64Array::from(vec![s.settled_value])),
            Arc::new(Float64Array::from(vec![rate])),
            Arc::new(Int64Array::from(vec![total_cost])),
            str1(env!("CARGO_PKG_VERSION")),
            str1(SCHEMA_VERSION),
            utc(self.started_at),
            utc(now),
            Arc::new(StringArray::from(vec![self.opts.agent.clone()])),
            Arc::new(UInt32Array::from(vec![self.opts.sample])),
        ];
        RecordBatch::try_new(SIMULATIONS.clone(), columns).map_err(|source| StoreError::Arrow { table: "simulations", source })
    }

    /// Hands the finished simulation to the committer (and commits it, without a shared one).
    fn commit(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        let def = crate::store::registry::get("simulations").expect("registered");
        let keys = Keys { simulation_id: &self.key.simulation_id, iteration: self.key.iteration };
        let simulation = def.to_stored(keys, batch).map_err(|source| StoreError::Arrow { table: "simulations", source })?;
        let mut staged = Staged { key: self.key.clone(), adds: Vec::new(), simulation, with_rows: std::mem::take(&mut self.opts.with_rows) };
        let spool = match std::mem::replace(&mut self.written, Written::Nothing) {
            Written::Files(adds) => {
                staged.adds = adds;
                None
            }
            Written::Spool(files) => Some(files),
            Written::Nothing => None,
        };
        match &self.opts.committer {
            Some(c) => match spool {
                Some(files) => c.stage_spooled(staged, files),
                None => c.stage(staged),
            },
            None => {
                let on_existing = if self.opts.overwrite { OnExisting::Replace } else { OnExisting::Fail };
                let c = Committer::new(self.dataset.clone(), GroupLimits::IMMEDIATE, on_existing);
                c.stage(staged)
            }
        }
    }

    fn begin_inner(&mut self, meta: &SimulationMeta) -> Result<(), StoreError> {
        if !self.opts.overwrite && self.opts.committer.is_none() {
            // A CLI run: refuse a taken id before running, not only at the commit.
            let simulations = Table::new(&self.dataset, crate::store::registry::get("simulations").expect("registered"));
            if is_committed(&runtime().block_on(simulations.snapshot())?, &self.key) {
                return Err(StoreError::AlreadyExists {
                    experiment_id: self.key.experiment_id.clone(),
                    iteration: self.key.iteration,
                    simulation_id: self.key.simulation_id.clone(),
                });
            }
        }
        self.agent_names = agent_values(&meta.agent_ids);
        self.events = EventColumns::new(self.agent_names.clone(), self.opts.batch_rows);
        self.ticks_per_day = meta.config.ticks_per_day;
        self.balances = meta.initial_balances.clone();
        self.counters = vec![AgentCounters::default(); meta.agent_ids.len()];
        self.parties.clear();
        self.meta = Some(meta.clone());
        self.started_at = (self.opts.clock)();
        self.writer = match self.opts.committer.as_ref().filter(|c| c.is_spooled()) {
            Some(c) => Writer::Inline(Files::open(&self.dataset, self.key.clone(), self.opts.row_group_rows, Some(c.take_spool(&self.key.experiment_id)?))?),
            None => {
                let files = Files::open(&self.dataset, self.key.clone(), self.opts.row_group_rows, None)?;
                // Two batches in flight: a fast engine keeps the channel full, and each batch
                // held there is memory (16Ki-row batches and 4 slots: 73 MB peak for a 100-day
                // run of the default with ample credit, 8Ki and 2: 55 MB, CPU unchanged).
                let (sender, rx) = sync_channel(2);
                Writer::Thread { sender, handle: std::thread::spawn(move || write_files(files, rx)) }
            }
        };
        Ok(())
    }
}

/// The data files one simulation writes into: new files of its own, or the spooled
/// committer's shared files.
struct Files {
    tables: Vec<Table>,
    files: Vec<FileWriter>,
    key: SimulationKey,
    spooled: bool,
}

impl Files {
    fn open(dataset: &Dataset, key: SimulationKey, row_group_rows: usize, spool: Option<SpoolFiles>) -> Result<Files, StoreError> {
        let tables: Vec<Table> = SPOOLED.iter().map(|n| Table::new(dataset, crate::store::registry::get(n).expect("registered"))).collect();
        let spooled = spool.is_some();
        let files = match spool {
            Some(files) => files,
            None => tables.iter().map(|t| t.create_file(&key.experiment_id, row_group_rows, Pages::Bounded, true)).collect::<Result<Vec<_>, _>>()?,
        };
        Ok(Files { tables, files, key, spooled })
    }

    /// Encodes one batch of table `i` (in [`SPOOLED`] order); after an error, every file is
    /// abandoned (its uploads removed).
    fn write(&mut self, i: usize, b: RecordBatch) -> Result<(), StoreError> {
        let def = self.tables[i].def;
        let keys = Keys { simulation_id: &self.key.simulation_id, iteration: self.key.iteration };
        let r = def.to_stored(keys, &b).map_err(|source| StoreError::Arrow { table: def.name, source });
        let r = r.and_then(|stored| runtime().block_on(self.files[i].write(&stored)));
        if r.is_err() {
            for f in std::mem::take(&mut self.files) {
                runtime().block_on(f.abandon());
            }
        }
        r
    }

    /// Every row is written: completes the simulation's own files (their `add` actions), or
    /// returns the shared ones.
    fn finish(self) -> Result<Written, StoreError> {
        if self.spooled {
            return Ok(Written::Spool(self.files));
        }
        let mut adds = Vec::new();
        for (t, f) in self.tables.iter().zip(self.files) {
            adds.push((t.def.name, runtime().block_on(f.finish(None))?));
        }
        Ok(Written::Files(adds))
    }

    /// The simulation stopped: its own files are abandoned and removed, shared ones returned.
    fn close(self) -> Written {
        if self.spooled {
            return Written::Spool(self.files);
        }
        for f in self.files {
            runtime().block_on(f.abandon());
        }
        Written::Nothing
    }
}

/// The writer thread: writes the batches it receives into `files` until `Finish` (the
/// files are finished) or until the channel closes (they are closed).
fn write_files(mut files: Files, rx: Receiver<Msg>) -> Result<Written, StoreError> {
    loop {
        match rx.recv() {
            Ok(Msg::Batch(table, b)) => files.write(table, b)?,
            Ok(Msg::Finish) => return files.finish(),
            Err(_) => return Ok(files.close()),
        }
    }
}

impl SimulationSink for ParquetSink {
    fn begin(&mut self, meta: &SimulationMeta) -> Result<(), SinkError> {
        Ok(self.begin_inner(meta)?)
    }

    fn tick(&mut self, tick: u32, events: &[Event], counts: &TickCounts, state: &dyn StateProvider) -> Result<(), SinkError> {
        let day = tick / self.ticks_per_day;
        self.tick_rows.push(TickRow { tick, day, counts: *counts, queue2_size: state.queue2_len() as u32, event_count: events.len() as u32 });
        for e in events {
            self.events.push(&EventRow::from_event(e, self.seq, self.ticks_per_day));
            self.seq += 1;
            self.count(e);
        }
        for i in 0..self.agent_names.len() {
            let agent = i as AgentIdx;
            let s = state.agent(agent);
            let opening_balance = std::mem::replace(&mut self.balances[i], s.balance);
            let counters = self.counters[i];
            self.agent_rows.push(AgentTickRow { tick, day, agent, opening_balance, state: s, counters });
        }
        if self.events.len() >= self.opts.batch_rows || self.events.list_items() >= MAX_LIST_ITEMS {
            self.flush_events()?;
        }
        if self.agent_rows.len() >= self.opts.batch_rows {
            self.flush_ticks()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> Result<(), SinkError> {
        self.flush_events()?;
        self.flush_ticks()?;
        self.end_writer(true)?;
        let batch = self.simulations_batch(summary)?;
        Ok(self.commit(&batch)?)
    }

    fn abort(&mut self) {
        // Closing the channel without `Finish` makes the writer abandon and delete its own
        // files; shared files go back to the committer, which leaves this simulation's rows out.
        let _ = self.end_writer(false);
        if let (Written::Spool(files), Some(c)) = (std::mem::replace(&mut self.written, Written::Nothing), &self.opts.committer) {
            c.drop_spooled(&self.key, files);
        }
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        self.abort();
    }
}
