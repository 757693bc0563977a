//! Policy proposers: given one agent's own situation, suggest its next policy. The built-in
//! best-response search tunes the allowed parameters; an external command can propose
//! anything (an LLM wrapper, a script). Agents never see each other's data.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::config::Constraints;
use super::policy::{parameter, with_parameter};

/// One past iteration, as the agent saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    /// Iteration (0-based).
    pub iteration: u32,
    /// The agent's mean cost in that iteration, in cents.
    pub cost: f64,
    /// The policy it ran.
    pub policy: Value,
    /// Whether its proposal that iteration was accepted.
    pub accepted: bool,
}

/// What a proposer is told: only the optimised agent's own data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProposalContext<'a> {
    /// The agent.
    pub agent: &'a str,
    /// The iteration being decided (0-based).
    pub iteration: u32,
    /// Its current policy.
    pub policy: &'a Value,
    /// Its mean cost under the current policies this iteration, in cents.
    pub cost: f64,
    /// Its earlier iterations.
    pub history: &'a [HistoryEntry],
    /// What a policy may contain.
    pub constraints: &'a Constraints,
}

/// A proposer's answer, with what was exchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proposal {
    /// The proposed policy, if any.
    pub policy: Option<Value>,
    /// What was asked (JSON), for the record.
    pub request: Option<String>,
    /// What came back, verbatim.
    pub response: Option<String>,
    /// Why there is no policy.
    pub error: Option<String>,
}

/// Mean cost of the agent under a candidate policy, on this iteration's samples.
pub type Evaluate<'a> = dyn Fn(&Value) -> Result<f64, super::runner::ExperimentError> + Sync + 'a;

/// Why an external proposer gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The command could not be started.
    #[error("cannot start `{command}`: {source}")]
    Start {
        /// The command line.
        command: String,
        /// The cause.
        source: std::io::Error,
    },
    /// No answer within the timeout (the command was killed).
    #[error("no answer within {0} s")]
    Timeout(f64),
    /// Waiting for the command failed.
    #[error("waiting for the command: {0}")]
    Wait(#[source] std::io::Error),
    /// Its standard output could not be read.
    #[error("reading the answer: {0}")]
    Read(#[source] std::io::Error),
    /// It exited unsuccessfully.
    #[error("the command exited with {0}")]
    Exit(std::process::ExitStatus),
}

/// Suggests policies.
pub trait Proposer: Send + Sync {
    /// For the record: which proposer.
    fn describe(&self) -> String;
    /// The next policy for one agent.
    fn propose(&self, ctx: &ProposalContext<'_>, evaluate: &Evaluate<'_>) -> Proposal;
}

/// Best response over the allowed parameters: a grid over each parameter's bounds, then two
/// finer grids around the best point, one parameter after the other; the current value is
/// always a candidate, so the proposal is never worse on the samples searched.
#[derive(Debug, Clone, Copy)]
pub struct BestResponse {
    /// Points of the first grid (≥ 2).
    pub grid: u32,
    /// Rounds of refinement.
    pub refinements: u32,
}

impl Default for BestResponse {
    fn default() -> Self {
        BestResponse { grid: 21, refinements: 2 }
    }
}

impl Proposer for BestResponse {
    fn describe(&self) -> String {
        format!("built-in best response (grid {}, {} refinements)", self.grid, self.refinements)
    }

    fn propose(&self, ctx: &ProposalContext<'_>, evaluate: &Evaluate<'_>) -> Proposal {
        if ctx.constraints.parameters.is_empty() {
            return Proposal { error: Some("no allowed_parameters to optimise".into()), ..Proposal::default() };
        }
        let mut policy = ctx.policy.clone();
        let mut best_cost = ctx.cost;
        for b in &ctx.constraints.parameters {
            let snap = |x: f64| {
                let x = x.clamp(b.min, b.max);
                // Four decimals, so reported values are readable and runs are stable.
                if b.integer { x.round() } else { (x * 1e4).round() / 1e4 }
            };
            let mut best = parameter(&policy, &b.name).map(snap).unwrap_or(snap(b.min));
            let (mut lo, mut hi) = (b.min, b.max);
            for _ in 0..=self.refinements {
                let n = self.grid.max(2);
                let step = (hi - lo) / (n - 1) as f64;
                for k in 0..n {
                    let x = snap(lo + step * k as f64);
                    if x == best {
                        continue;
                    }
                    let candidate = with_parameter(&policy, &b.name, x);
                    match evaluate(&candidate) {
                        // Ties keep the current value (no change without a gain).
                        Ok(c) if c < best_cost => {
                            best_cost = c;
                            best = x;
                        }
                        Ok(_) => {}
                        Err(e) => return Proposal { error: Some(e.to_string()), ..Proposal::default() },
                    }
                }
                lo = (best - step).max(b.min);
                hi = (best + step).min(b.max);
                if step == 0.0 || (b.integer && hi - lo <= 2.0) {
                    break;
                }
            }
            policy = with_parameter(&policy, &b.name, best);
        }
        Proposal { policy: Some(policy), ..Proposal::default() }
    }
}

/// An external program: the context as JSON on stdin, a policy JSON on stdout.
#[derive(Debug, Clone)]
pub struct External {
    /// Shell command line.
    pub command: String,
    /// Longest wait for an answer.
    pub timeout: Duration,
}

impl Proposer for External {
    fn describe(&self) -> String {
        format!("external command `{}`", self.command)
    }

    fn propose(&self, ctx: &ProposalContext<'_>, _evaluate: &Evaluate<'_>) -> Proposal {
        let request = json!({ "context": ctx }).to_string();
        let mut p = Proposal { request: Some(request.clone()), ..Proposal::default() };
        match self.exchange(&request) {
            Ok(out) => {
                match super::policy::answer(&out) {
                    Ok(v) => p.policy = Some(v),
                    Err(e) => p.error = Some(e.to_string()),
                }
                p.response = Some(out);
            }
            Err(e) => p.error = Some(e.to_string()),
        }
        p
    }
}

impl External {
    fn exchange(&self, request: &str) -> Result<String, ExchangeError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| ExchangeError::Start { command: self.command.clone(), source })?;
        let mut stdin = child.stdin.take().expect("piped");
        let req = request.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(req.as_bytes());
        });
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ExchangeError::Timeout(self.timeout.as_secs_f64()));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(ExchangeError::Wait(e)),
            }
        };
        let _ = writer.join();
        let out = reader.join().unwrap_or_else(|_| Err(std::io::Error::other("the reader thread panicked"))).map_err(ExchangeError::Read)?;
        if !status.success() {
            return Err(ExchangeError::Exit(status));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::config::ParameterBound;
    use crate::experiment::policy::initial;

    fn ctx<'a>(policy: &'a Value, constraints: &'a Constraints) -> ProposalContext<'a> {
        ProposalContext { agent: "A", iteration: 0, policy, cost: 1e9, history: &[], constraints }
    }

    fn bounds() -> Constraints {
        Constraints {
            parameters: vec![ParameterBound { name: "initial_liquidity_fraction".into(), min: 0.0, max: 1.0, integer: false }],
            ..Constraints::default()
        }
    }

    #[test]
    fn best_response_finds_the_minimum_of_a_kinked_cost() {
        // Cost jumps below 0.15 and rises linearly above it (exp1's shape for the payer).
        let cost = |p: &Value| {
            let f = parameter(p, "initial_liquidity_fraction").unwrap();
            Ok(if f < 0.15 { 1_000.0 } else { 100.0 * f })
        };
        let (policy, c) = (initial(), bounds());
        let p = BestResponse::default().propose(&ctx(&policy, &c), &cost);
        assert_eq!(parameter(p.policy.as_ref().unwrap(), "initial_liquidity_fraction"), Some(0.15));
        // A smooth minimum between grid points is refined: (f − 0.123)² → within 0.005.
        let smooth = |p: &Value| Ok((parameter(p, "initial_liquidity_fraction").unwrap() - 0.123).powi(2));
        let p = BestResponse::default().propose(&ctx(&policy, &c), &smooth);
        let f = parameter(p.policy.as_ref().unwrap(), "initial_liquidity_fraction").unwrap();
        assert!((f - 0.123).abs() < 0.005, "{f}");
    }

    #[test]
    fn external_answers_are_recorded_and_bad_ones_rejected() {
        let (policy, c) = (initial(), bounds());
        let never = |_: &Value| -> Result<f64, crate::experiment::runner::ExperimentError> { unreachable!() };
        let good = External { command: "cat >/dev/null; echo '{\"version\":\"1\"}'".into(), timeout: Duration::from_secs(10) };
        let p = good.propose(&ctx(&policy, &c), &never);
        assert_eq!(p.policy, Some(json!({"version": "1"})));
        assert!(p.request.as_deref().unwrap().contains("\"agent\":\"A\""));
        let bad = External { command: "cat >/dev/null; echo nope".into(), timeout: Duration::from_secs(10) };
        assert!(bad.propose(&ctx(&policy, &c), &never).error.unwrap().contains("not valid JSON"));
        let slow = External { command: "sleep 5".into(), timeout: Duration::from_millis(200) };
        assert!(slow.propose(&ctx(&policy, &c), &never).error.unwrap().contains("no answer within"));
        let failing = External { command: "exit 3".into(), timeout: Duration::from_secs(10) };
        assert!(failing.propose(&ctx(&policy, &c), &never).error.unwrap().contains("exited"));
    }
}
