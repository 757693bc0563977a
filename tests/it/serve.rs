//! `simcash serve`: pages of a live dataset, read-only, and bad requests answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use crate::util::run_ok;

/// A running `simcash serve` on a free port, stopped when dropped.
struct Served {
    child: Child,
    port: u16,
}

impl Served {
    fn start(dir: &std::path::Path) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_simcash")).current_dir(dir).args(["serve", "--port", "0"]).stderr(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.split("127.0.0.1:").nth(1).and_then(|r| r.split('/').next()).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
        Served { child, port }
    }

    /// Sends `request` (a whole HTTP request) and returns the status and the body.
    fn send(&self, request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let status = reply.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, reply.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
    }

    /// `GET path` as HTTP/1.0, so that the body comes whole rather than chunked.
    fn get(&self, path: &str) -> (u16, String) {
        self.send(&format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sql` as a query-string value.
fn q(sql: &str) -> String {
    sql.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[test]
fn serve_shows_lists_reports_and_sql_sees_new_runs_and_never_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["run", "--simulation-id", "sim-one"]);
    let served = Served::start(d);

    let (status, index) = served.get("/");
    assert_eq!(status, 200, "{index}");
    assert!(index.contains(r#"<a href="/report/sim-one">sim-one</a>"#), "{index}");
    let (status, report) = served.get("/report/sim-one");
    assert_eq!(status, 200);
    assert!(report.contains(r#"data-chart="balance""#) && report.contains("<h2>Event log</h2>"));

    // A run committed while the server runs shows at once.
    run_ok(d, &["run", "--simulation-id", "sim-two", "--seed", "3"]);
    assert!(served.get("/").1.contains("/report/sim-two"));
    let (status, csv) = served.get(&format!("/sql.csv?q={}", q("SELECT simulation_id FROM simulations ORDER BY 1")));
    assert_eq!((status, csv.as_str()), (200, "simulation_id\nsim-one\nsim-two\n"));
    let (status, page) = served.get(&format!("/sql?q={}", q("SELECT count(*) AS n FROM simulation_events")));
    assert_eq!(status, 200);
    assert!(page.contains("<th>n</th>"), "{page}");

    // Nothing writes: DDL, DML, COPY and SET are refused, other methods too.
    let before = crate::util::csv(d, "SELECT count(*) FROM raw.simulations");
    for sql in [
        "CREATE VIEW v AS SELECT 1",
        "COPY (SELECT 1) TO 'out.csv'",
        "INSERT INTO raw.simulations SELECT * FROM raw.simulations",
        "SET datafusion.execution.batch_size = 1",
        "DROP VIEW simulations",
    ] {
        let (status, body) = served.get(&format!("/sql?q={}", q(sql)));
        assert_eq!(status, 400, "{sql}: {body}");
        assert!(body.contains("refused"), "{body}");
    }
    assert!(!d.join("out.csv").exists());
    let (status, _) = served.send("POST /sql HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, 405);
    assert!(served.get("/").1.contains("sim-two"), "the simulations view is still there");
    assert_eq!(crate::util::csv(d, "SELECT count(*) FROM raw.simulations"), before);

    // Bad requests get an answer, and the server goes on.
    assert_eq!(served.get("/report/sim-nope").0, 404);
    assert_eq!(served.get("/nowhere").0, 404);
    assert_eq!(served.get(&format!("/sql?q={}", q("SELEC oops"))).0, 400);
    assert_eq!(served.get("/sql").0, 400);
    assert_eq!(served.send("garbage\r\n\r\n").0 / 100, 4);
    // A page of a big result holds its first 1,000 rows; the CSV all of them.
    let big = q("SELECT * FROM simulation_events");
    let (status, page) = served.get(&format!("/sql?q={big}"));
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("<tr>").count(),
        1 + 1000,
        "header and 1,000 rows: {}",
        page.split("<p class=\"about\">").last().unwrap().chars().take(200).collect::<String>()
    );
    let rows: usize = crate::util::csv(d, "SELECT count(*) FROM simulation_events")[0].parse().unwrap();
    let flat = q("SELECT simulation_id, seq, event_type FROM simulation_events");
    assert_eq!(served.get(&format!("/sql.csv?q={flat}")).1.lines().count(), rows + 1);
    // CSV cannot hold list columns: refused with the reason.
    let (status, body) = served.get(&format!("/sql.csv?q={big}"));
    assert_eq!(status, 400);
    assert!(body.contains("not supported in CSV"), "{body}");
    assert_eq!(served.get("/").0, 200);
}
