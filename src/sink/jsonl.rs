//! The `--events` writer: SimCash's event dict form, one JSON object per line, with a
//! `_TickSummary` line after each tick as in SimCash's reference streams.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{RunSummary, SimulationMeta, SimulationSink, SinkError};
use crate::engine::TickCounts;
use crate::engine::event::{AgentIdx, Event};
use crate::state::StateProvider;

/// Writes the event stream to a file, via a temporary name renamed into place on finish,
/// so an interrupted run never leaves a truncated stream under the final name.
#[derive(Debug)]
pub struct JsonlSink {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
    names: Vec<String>,
}

impl JsonlSink {
    /// A sink that will write `path`.
    pub fn new(path: &Path) -> JsonlSink {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        JsonlSink { path: path.to_owned(), tmp: PathBuf::from(tmp), out: None, names: Vec::new() }
    }

    fn io(&self, source: std::io::Error) -> SinkError {
        SinkError::Io { path: self.path.clone(), source }
    }

    fn line(&mut self, m: &Map<String, Value>) -> Result<(), SinkError> {
        let out = self.out.as_mut().expect("begin() opens the file");
        let r = serde_json::to_writer(&mut *out, m).map_err(std::io::Error::from).and_then(|_| out.write_all(b"\n"));
        r.map_err(|e| self.io(e))
    }
}

impl SimulationSink for JsonlSink {
    fn begin(&mut self, meta: &SimulationMeta) -> Result<(), SinkError> {
        self.names = meta.agent_ids.clone();
        let f = File::create(&self.tmp).map_err(|e| self.io(e))?;
        self.out = Some(BufWriter::new(f));
        Ok(())
    }

    fn tick(&mut self, tick: u32, events: &[Event], counts: &TickCounts, state: &dyn StateProvider) -> Result<(), SinkError> {
        for e in events {
            let m = e.to_json(&self.names);
            self.line(&m)?;
        }
        let balances: Map<String, Value> = (0..self.names.len()).map(|i| (self.names[i].clone(), json!(state.agent(i as AgentIdx).balance))).collect();
        let mut m = Map::new();
        m.insert("event_type".into(), json!("_TickSummary"));
        m.insert("tick".into(), json!(tick));
        m.insert("num_arrivals".into(), json!(counts.num_arrivals));
        m.insert("num_settlements".into(), json!(counts.num_settlements));
        m.insert("num_lsm_releases".into(), json!(counts.num_lsm_releases));
        m.insert("total_cost".into(), json!(counts.total_cost));
        m.insert("balances".into(), Value::Object(balances));
        m.insert("q2".into(), json!(state.queue2_len()));
        self.line(&m)
    }

    fn finish(&mut self, _summary: &RunSummary) -> Result<(), SinkError> {
        if let Some(mut out) = self.out.take() {
            out.flush().map_err(|e| self.io(e))?;
            out.into_inner().map_err(|e| self.io(e.into_error()))?.sync_all().map_err(|e| self.io(e))?;
        }
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.io(e))
    }

    fn abort(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Drop for JsonlSink {
    fn drop(&mut self) {
        // An unfinished stream is removed rather than left half-written.
        self.abort();
    }
}
