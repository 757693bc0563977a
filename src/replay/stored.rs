//! Replaying a stored simulation: its `events`, `agent_ticks` and `ticks` files are read in
//! order, one tick at a time, and pushed through the same sinks a live run uses. Nothing is
//! re-simulated. Memory holds one Parquet batch of each file at a time.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int32Type, Int64Type, UInt32Type, UInt64Type};

use crate::engine::config::SimConfig;
use crate::engine::event::{AgentIdx, CostBreakdown, Event};
use crate::engine::{RunStats, TickCounts};
use crate::sink::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::state::{AgentSnapshot, StateProvider};
use crate::store::batch::rows_from_batch;
use crate::store::commit::string_bounds;
use crate::store::read::SimulationRows;
use crate::store::table::Table;
use crate::store::{Dataset, SimulationKey};

/// Why a stored simulation cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No simulation has this id.
    #[error("no simulation `{0}` in the dataset; `simcash list` shows the stored ids")]
    Unknown(String),
    /// The simulation never committed (its run crashed or is still running).
    #[error("simulation `{0}` was never committed (its run crashed or is still running); `simcash gc` removes such leftovers")]
    Uncommitted(String),
    /// The id exists in several experiments or iterations.
    #[error("simulation `{id}` exists in several places ({places}); narrow it with --experiment and --iteration")]
    Ambiguous {
        /// The id.
        id: String,
        /// Where it was found.
        places: String,
    },
    /// A stored file is unreadable or inconsistent.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The dataset could not be listed or read.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Locates a committed simulation by id (and optionally experiment and iteration), from the
/// `simulations` log alone.
pub async fn find(dataset: &Dataset, id: &str, experiment: Option<&str>, iteration: Option<u32>) -> Result<SimulationKey, ReplayError> {
    let table = |name| Table::new(dataset, crate::store::registry::get(name).expect("registered"));
    let sims = table("simulations").snapshot().await?;
    let mut committed: Vec<SimulationKey> = sims
        .txns
        .iter()
        .filter(|(_, v)| **v > 0)
        .filter_map(|(app, _)| {
            let mut parts = app.strip_prefix("simcash.simulation/")?.splitn(3, '/');
            let (e, i, s) = (parts.next()?, parts.next()?.parse::<u32>().ok()?, parts.next()?);
            Some(SimulationKey { experiment_id: e.to_owned(), iteration: i, simulation_id: s.to_owned() })
        })
        .filter(|k| k.simulation_id == id)
        .filter(|k| experiment.is_none_or(|e| k.experiment_id == e) && iteration.is_none_or(|i| k.iteration == i))
        .collect();
    let written = || async {
        let events = table("events").snapshot().await?;
        Ok::<_, ReplayError>(events.files.values().any(|a| {
            let (lo, hi) = string_bounds(a, "simulation_id");
            lo.as_deref() == Some(id) && hi.as_deref() == Some(id)
        }))
    };
    match committed.len() {
        1 => Ok(committed.remove(0)),
        0 if written().await? => Err(ReplayError::Uncommitted(id.to_owned())),
        0 => Err(ReplayError::Unknown(id.to_owned())),
        _ => Err(ReplayError::Ambiguous {
            id: id.to_owned(),
            places: committed.iter().map(|k| format!("{}/{}", k.experiment_id, k.iteration)).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// A committed simulation opened for replay.
#[derive(Debug)]
pub struct Stored {
    /// Where it lives.
    pub key: SimulationKey,
    /// Its configuration and agents, as sinks receive them.
    pub meta: SimulationMeta,
    /// Its whole-run summary (costs filled in by [`Stored::replay`]).
    pub stats: RunStats,
    /// Ticks it ran.
    pub ticks: u32,
    dataset: Dataset,
}

fn corrupt(path: &str, problem: impl ToString) -> ReplayError {
    ReplayError::Corrupt { path: path.to_owned(), problem: problem.to_string() }
}

/// The simulation's rows of one table, and how to name them in messages.
fn reader(dataset: &Dataset, key: &SimulationKey, table: &str) -> Result<(SimulationRows, String), ReplayError> {
    let what = format!(
        "{}/{table} (simulation {}, experiment {}, iteration {})",
        dataset.display.trim_end_matches('/'),
        key.simulation_id,
        key.experiment_id,
        key.iteration
    );
    Ok((dataset.simulation_rows(key, table)?, what))
}

fn col<'a>(b: &'a RecordBatch, path: &str, name: &str) -> Result<&'a Arc<dyn Array>, ReplayError> {
    b.column_by_name(name).ok_or_else(|| corrupt(path, format!("no column `{name}`")))
}

fn u64_at(b: &RecordBatch, p: &str, name: &str) -> Result<u64, ReplayError> {
    let c = col(b, p, name)?;
    c.as_primitive_opt::<UInt64Type>()
        .map(|a| a.value(0))
        .or_else(|| c.as_primitive_opt::<UInt32Type>().map(|a| a.value(0) as u64))
        .ok_or_else(|| corrupt(p, format!("`{name}` has an unexpected type")))
}

fn i64_at(b: &RecordBatch, p: &str, name: &str) -> Result<i64, ReplayError> {
    col(b, p, name)?.as_primitive_opt::<Int64Type>().map(|a| a.value(0)).ok_or_else(|| corrupt(p, format!("`{name}` has an unexpected type")))
}

impl Stored {
    /// Opens the simulation `key` (found with [`find`]).
    pub fn open(dataset: &Dataset, key: SimulationKey) -> Result<Stored, ReplayError> {
        let (sims, path) = reader(dataset, &key, "simulations")?;
        let batches: Vec<RecordBatch> = sims.collect::<Result<_, _>>().map_err(|e| corrupt(&path, e))?;
        let b = batches.iter().find(|b| b.num_rows() > 0).ok_or_else(|| corrupt(&path, "no row"))?;
        let config_json = col(b, &path, "config_json")?.as_string_opt::<i32>().map(|a| a.value(0).to_owned());
        let config: SimConfig =
            config_json.as_deref().and_then(|j| serde_json::from_str(j).ok()).ok_or_else(|| corrupt(&path, "`config_json` is not a simcash configuration"))?;
        let ids = col(b, &path, "agent_ids")?.as_list_opt::<i32>().ok_or_else(|| corrupt(&path, "`agent_ids` is not a list"))?;
        let ids = ids.value(0);
        let agent_ids: Vec<String> =
            ids.as_string_opt::<i32>().ok_or_else(|| corrupt(&path, "bad `agent_ids`"))?.iter().map(|s| s.unwrap_or("").to_owned()).collect();
        let stats = RunStats {
            arrivals: u64_at(b, &path, "arrivals")?,
            settled: u64_at(b, &path, "settled")?,
            arrived_value: i64_at(b, &path, "arrived_value")?,
            settled_value: i64_at(b, &path, "settled_value")?,
            events: u64_at(b, &path, "event_count")?,
        };
        let ticks = u64_at(b, &path, "ticks")? as u32;
        let n = agent_ids.len();
        Ok(Stored { key, meta: SimulationMeta { config, agent_ids, initial_balances: vec![0; n] }, stats, ticks, dataset: dataset.clone() })
    }

    /// Pushes ticks `0..=last_tick` through `sinks` (all ticks when `None`); returns the
    /// run summary when every tick was replayed.
    pub fn replay(&self, sinks: &mut [&mut dyn SimulationSink], last_tick: Option<u32>) -> Result<Option<RunSummary>, ReplayError> {
        let names = &self.meta.agent_ids;
        let n = names.len();
        let index = |s: &str| names.binary_search_by(|x| x.as_str().cmp(s)).ok().map(|i| i as AgentIdx);
        let (ev_reader, ev_path) = reader(&self.dataset, &self.key, "events")?;
        let (mut agents, at_path) = reader(&self.dataset, &self.key, "agent_ticks")?;
        let (mut ticks, tk_path) = reader(&self.dataset, &self.key, "ticks")?;
        let mut events = EventCursor { reader: ev_reader, path: ev_path, buf: Vec::new(), pos: 0 };
        let (mut agent_rows, mut agent_pos) = (Vec::<(u32, AgentSnapshot)>::new(), 0usize);
        let (mut tick_rows, mut tick_pos) = (Vec::<(u32, TickCounts, u32)>::new(), 0usize);
        for s in sinks.iter_mut() {
            s.begin(&self.meta)?;
        }
        let end = last_tick.map_or(self.ticks, |l| (l + 1).min(self.ticks));
        let mut tick_events = Vec::new();
        let mut state = StoredState { ids: names.clone(), agents: vec![AgentSnapshot::default(); n], queue2: 0 };
        for t in 0..end {
            tick_events.clear();
            events.take_tick(t, &index, &mut tick_events)?;
            for (name, agent) in names.iter().zip(&mut state.agents) {
                if agent_pos == agent_rows.len() {
                    agent_rows = read_agent_ticks(&mut agents, &at_path)?;
                    agent_pos = 0;
                    if agent_rows.is_empty() {
                        return Err(corrupt(&at_path, format!("ends before tick {t}")));
                    }
                }
                let (tick, snap) = agent_rows[agent_pos];
                agent_pos += 1;
                if tick != t {
                    return Err(corrupt(&at_path, format!("expected tick {t} for agent {name}, found {tick}")));
                }
                *agent = snap;
            }
            if tick_pos == tick_rows.len() {
                tick_rows = read_ticks(&mut ticks, &tk_path)?;
                tick_pos = 0;
                if tick_rows.is_empty() {
                    return Err(corrupt(&tk_path, format!("ends before tick {t}")));
                }
            }
            let (tick, counts, q2) = tick_rows[tick_pos];
            tick_pos += 1;
            if tick != t {
                return Err(corrupt(&tk_path, format!("expected tick {t}, found {tick}")));
            }
            state.queue2 = q2 as usize;
            for s in sinks.iter_mut() {
                s.tick(t, &tick_events, &counts, &state)?;
            }
        }
        if end < self.ticks {
            return Ok(None);
        }
        let summary =
            RunSummary { ticks: self.ticks, agent_ids: names.clone(), stats: self.stats, costs: state.agents.iter().map(|a| a.total_costs).collect() };
        for s in sinks.iter_mut() {
            s.finish(&summary)?;
        }
        Ok(Some(summary))
    }
}

/// Events of a stored simulation, read batch by batch.
struct EventCursor {
    reader: SimulationRows,
    path: String,
    buf: Vec<crate::store::row::EventRow>,
    pos: usize,
}

impl EventCursor {
    fn take_tick(&mut self, t: u32, index: &dyn Fn(&str) -> Option<AgentIdx>, out: &mut Vec<Event>) -> Result<(), ReplayError> {
        loop {
            if self.pos == self.buf.len() {
                match self.reader.next() {
                    None => return Ok(()),
                    Some(b) => {
                        let b = b.map_err(|e| corrupt(&self.path, e))?;
                        self.buf = rows_from_batch(&b, index).map_err(|e| corrupt(&self.path, e))?;
                        self.pos = 0;
                        continue;
                    }
                }
            }
            let row = &self.buf[self.pos];
            if row.tick > t {
                return Ok(());
            }
            if row.tick < t {
                return Err(corrupt(&self.path, format!("event seq {} of tick {} is out of order", row.seq, row.tick)));
            }
            let row = std::mem::take(&mut self.buf[self.pos]);
            self.pos += 1;
            out.push(row.into_event().map_err(|e| corrupt(&self.path, e))?);
        }
    }
}

fn read_agent_ticks(r: &mut SimulationRows, p: &str) -> Result<Vec<(u32, AgentSnapshot)>, ReplayError> {
    let Some(b) = r.next() else { return Ok(Vec::new()) };
    let b = b.map_err(|e| corrupt(p, e))?;
    let u32c = |name: &str| -> Result<Vec<u32>, ReplayError> {
        Ok(col(&b, p, name)?.as_primitive_opt::<UInt32Type>().ok_or_else(|| corrupt(p, format!("bad `{name}`")))?.values().to_vec())
    };
    let i64c = |name: &str| -> Result<Vec<i64>, ReplayError> {
        Ok(col(&b, p, name)?.as_primitive_opt::<Int64Type>().ok_or_else(|| corrupt(p, format!("bad `{name}`")))?.values().to_vec())
    };
    let _ = col(&b, p, "agent")?.as_dictionary_opt::<Int32Type>();
    let (tick, q1c, q2c) = (u32c("tick")?, u32c("queue1_count")?, u32c("queue2_count")?);
    let (bal, cap, coll, q1v, q2v) = (i64c("balance")?, i64c("unsecured_cap")?, i64c("posted_collateral")?, i64c("queue1_value")?, i64c("queue2_value")?);
    let (lc, dc, cc, pc, sc, lo) = (
        i64c("liquidity_cost")?,
        i64c("delay_cost")?,
        i64c("collateral_cost")?,
        i64c("penalty_cost")?,
        i64c("split_friction_cost")?,
        i64c("liquidity_opportunity_cost")?,
    );
    Ok((0..b.num_rows())
        .map(|i| {
            (
                tick[i],
                AgentSnapshot {
                    balance: bal[i],
                    queue1_count: q1c[i],
                    queue1_value: q1v[i],
                    queue2_count: q2c[i],
                    queue2_value: q2v[i],
                    posted_collateral: coll[i],
                    unsecured_cap: cap[i],
                    total_costs: CostBreakdown {
                        liquidity_cost: lc[i],
                        delay_cost: dc[i],
                        collateral_cost: cc[i],
                        penalty_cost: pc[i],
                        split_friction_cost: sc[i],
                        liquidity_opportunity_cost: lo[i],
                    },
                },
            )
        })
        .collect())
}

fn read_ticks(r: &mut SimulationRows, p: &str) -> Result<Vec<(u32, TickCounts, u32)>, ReplayError> {
    let Some(b) = r.next() else { return Ok(Vec::new()) };
    let b = b.map_err(|e| corrupt(p, e))?;
    let u32c = |name: &str| -> Result<Vec<u32>, ReplayError> {
        Ok(col(&b, p, name)?.as_primitive_opt::<UInt32Type>().ok_or_else(|| corrupt(p, format!("bad `{name}`")))?.values().to_vec())
    };
    let (tick, na, ns, nl, q2) = (u32c("tick")?, u32c("num_arrivals")?, u32c("num_settlements")?, u32c("num_lsm_releases")?, u32c("queue2_size")?);
    let cost = col(&b, p, "total_cost")?.as_primitive_opt::<Int64Type>().ok_or_else(|| corrupt(p, "bad `total_cost`"))?.values().to_vec();
    Ok((0..b.num_rows())
        .map(|i| (tick[i], TickCounts { num_arrivals: na[i], num_settlements: ns[i], num_lsm_releases: nl[i], total_cost: cost[i] }, q2[i]))
        .collect())
}

/// State after a tick, from stored rows.
#[derive(Debug)]
struct StoredState {
    ids: Vec<String>,
    agents: Vec<AgentSnapshot>,
    queue2: usize,
}

impl StateProvider for StoredState {
    fn agent_ids(&self) -> &[String] {
        &self.ids
    }

    fn agent(&self, agent: AgentIdx) -> AgentSnapshot {
        self.agents[agent as usize]
    }

    fn queue2_len(&self) -> usize {
        self.queue2
    }
}
