//! Runaway work stops the run with a clear error in bounded memory, never an abort: a split
//! into zero-value parts (where SimCash itself panics) and a splitting storm that outgrows
//! the per-tick event and queued-payment limits. Peak memory is the child's own `ru_maxrss`.
//!
//! A test binary of its own: Linux starts a spawned child's `ru_maxrss` at the spawning
//! process's peak (exec records the old address space's high-water mark, and a vfork child's
//! old address space is the parent's), so the parent must stay small, which the `it` binary,
//! with its many tests side by side, does not.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// A file under `tests/data`.
fn data(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(rel)
}

/// Runs `simcash` in `dir`; returns (exit code, stderr, peak resident set size in bytes).
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4, which reports its own peak memory")]
fn run_measured(dir: &Path, args: &[&str]) -> (Option<i32>, String, u64) {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_simcash")).current_dir(dir).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the binary runs");
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let pid = child.id() as libc::pid_t;
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // wait4 reports this child's own peak RSS (getrusage(RUSAGE_CHILDREN) would mix in the
    // children of the other tests running in this process).
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, reader.join().unwrap(), usage.ru_maxrss as u64 * 1024)
}

/// Nothing committed under the dataset root: no `simulations` marker file.
fn nothing_saved(root: &Path) -> bool {
    fn markers(p: &Path) -> usize {
        std::fs::read_dir(p).map_or(0, |d| {
            d.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { markers(&p) } else { usize::from(p.extension().is_some_and(|x| x == "parquet")) }).sum()
        })
    }
    markers(&root.join("simulations")) == 0
}

/// The run failed cleanly: exit 1, no panic, every `part` in its message, nothing committed.
fn stopped_with(code: Option<i32>, err: &str, parts: &[&str], root: &Path) {
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for part in parts {
        assert!(err.contains(part), "`{part}` in: {err}");
    }
    assert!(nothing_saved(root), "no simulation committed");
}

const MB: u64 = 1 << 20;

#[test]
fn a_split_into_zero_value_parts_stops_the_run_where_simcash_panics() {
    // SimCash's shipped efficient_memory_adaptive.json re-splits staggered parts by 5 each
    // tick; at tick 9 a part of 3 would be split into 5 and SimCash panics.
    let dir = tempfile::tempdir().unwrap();
    let scenario = data("simcash/stress/policy_efficient_memory_adaptive.yaml");
    let root = dir.path().join("data");
    let (code, err, peak) = run_measured(dir.path(), &["run", scenario.to_str().unwrap(), "--data", root.to_str().unwrap()]);
    stopped_with(
        code,
        &err,
        &["tick 9: agent BANK_", "splits transaction tx-", "into 5 parts, which leaves a part of 0", "amount must be positive", "nothing was saved"],
        &root,
    );
    assert!(peak < 200 * MB, "peak RSS {} MB", peak / MB);
}

#[test]
fn a_splitting_storm_stops_at_the_event_limit_in_bounded_memory() {
    // 1,000 parts a payment a tick: tick 1 would emit about two million events.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let scenario = data("stress/split_storm.yaml");
    let (code, err, peak) = run_measured(dir.path(), &["run", scenario.to_str().unwrap(), "--data", root.to_str().unwrap()]);
    stopped_with(code, &err, &["tick 1: agent A splitting transaction tx-", "into 1000 parts", "events in one tick would exceed the limit of 1000000"], &root);
    // At the limit the tick holds a million events and a million payments: a few hundred MB
    // in a debug build, far from the gigabytes an unbounded storm takes.
    assert!(peak < 1024 * MB, "peak RSS {} MB", peak / MB);
}

#[test]
fn the_limits_are_set_in_the_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let storm = std::fs::read_to_string(data("stress/split_storm.yaml")).unwrap();
    // Tick 0 queues 1,000 parts; the first split of tick 1 would make 2,000.
    std::fs::write(dir.path().join("q.yaml"), format!("{storm}simcash: {{limits: {{max_queued_payments: 1500}}}}\n")).unwrap();
    let (code, err, _) = run_measured(dir.path(), &["run", "q.yaml", "--no-persist"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("tick 1: agent A splitting transaction") && err.contains("2000 queued payments would exceed the limit of 1500"), "{err}");
    // Tick 0 emits about a thousand events: a limit of 500 stops it there.
    std::fs::write(dir.path().join("e.yaml"), format!("{storm}simcash: {{limits: {{max_events_per_tick: 500}}}}\n")).unwrap();
    let (code, err, _) = run_measured(dir.path(), &["run", "e.yaml", "--no-persist"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("tick 0: agent A splitting transaction") && err.contains("would exceed the limit of 500"), "{err}");
    // Limits are positive integers.
    std::fs::write(dir.path().join("z.yaml"), format!("{storm}simcash: {{limits: {{max_events_per_tick: 0}}}}\n")).unwrap();
    let (code, err, _) = run_measured(dir.path(), &["run", "z.yaml", "--no-persist"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("simcash.limits.max_events_per_tick") && err.contains("positive integer"), "{err}");
}
