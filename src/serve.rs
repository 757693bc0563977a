//! `simcash serve`: a read-only local web UI over the dataset. One warm DataFusion session
//! answers every request (each statement reads the logs again, so new commits show without a
//! restart); pages are the reports of [`crate::report`], a list of what is stored, and a SQL
//! box. Only `GET` is served, and SQL that would write (DDL, DML, `COPY`, `SET`) is refused.

use std::io::Cursor;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::query::output::{self, Format};
use crate::report::html::{escape, page, section};
use crate::report::{self, ReportError, simulation};

/// Rows a SQL page shows at most.
pub const PAGE_ROWS: usize = 1_000;
/// Rows a CSV download holds at most (a larger result is refused, not cut).
pub const CSV_ROWS: usize = 1_000_000;
/// Simulations the index lists (newest first).
const LISTED: usize = 200;

/// A response: status, content type and body.
struct Reply {
    status: u16,
    kind: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply { status, kind: "text/html; charset=utf-8", body: body.into_bytes() }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::html(status, page("simcash", "", &[section(&format!("Error {status}"), message, BACK)]))
    }
}

const BACK: &str = r#"<p><a href="/">back to the list</a></p>"#;

/// Serves `ctx` on `server` until the process ends; each request is answered in turn.
pub fn run(server: &Server, ctx: &SessionContext, runtime: &tokio::runtime::Runtime) {
    for request in server.incoming_requests() {
        let reply = if *request.method() != Method::Get {
            Reply::error(405, "simcash serve is read-only: only GET is answered.")
        } else {
            runtime.block_on(route(ctx, request.url()))
        };
        respond(request, reply);
    }
}

fn respond(request: Request, reply: Reply) {
    let header = Header::from_bytes("Content-Type", reply.kind).expect("a valid header");
    let length = reply.body.len();
    let response = Response::new(reply.status.into(), vec![header], Cursor::new(reply.body), Some(length), None);
    // A client that went away is not the server's problem.
    let _ = request.respond(response);
}

/// The reply to `GET url`.
async fn route(ctx: &SessionContext, url: &str) -> Reply {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let param = |name: &str| form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    match path {
        "/" => index(ctx).await,
        "/sql" => sql_page(ctx, &param("q").unwrap_or_default()).await,
        "/sql.csv" => sql_csv(ctx, &param("q").unwrap_or_default()).await,
        p if p.starts_with("/report/") => {
            let target: String = form_urlencoded::parse(format!("t={}", &p["/report/".len()..]).as_bytes()).map(|(_, v)| v.into_owned()).collect();
            let mut opts = simulation::Options::default();
            if let Some((a, b)) = param("ticks").as_deref().and_then(|t| t.split_once(".."))
                && let (Ok(a), Ok(b)) = (a.parse(), b.parse())
            {
                opts.log_ticks = a..=b;
            }
            match report::any(ctx, &target, &opts).await {
                Ok((_, html)) => Reply::html(200, html.replacen("<h1>", &format!("{BACK}<h1>"), 1)),
                Err(e @ ReportError::NotFound(_)) => Reply::error(404, &e.to_string()),
                Err(e) => Reply::error(500, &e.to_string()),
            }
        }
        _ => Reply::error(404, &format!("no page {path}")),
    }
}

/// Plans `sql` for reading only: statements that would change the session or write files
/// are refused by DataFusion before they run.
async fn read_only(ctx: &SessionContext, sql: &str, limit: Option<usize>) -> Result<Vec<RecordBatch>, DataFusionError> {
    let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let mut frame = ctx.sql_with_options(sql, options).await?;
    if limit.is_some() {
        frame = frame.limit(0, limit)?;
    }
    crate::query::guarded(frame.collect()).await
}

async fn index(ctx: &SessionContext) -> Reply {
    let lists = async {
        let groups = read_only(ctx, crate::query::EXPERIMENTS_LIST, None).await?;
        let sims = read_only(
            ctx,
            "SELECT simulation_id AS id, experiment_id, scenario, seed, event_count, ROUND(settlement_rate, 4) AS settlement_rate, \
             total_cost / 100.0 AS total_cost, finished_at FROM simulations ORDER BY finished_at DESC, simulation_id",
            Some(LISTED),
        )
        .await?;
        Ok::<_, DataFusionError>((groups, sims))
    };
    match lists.await {
        Ok((groups, sims)) => {
            // Experiments and sweeps have reports; the group of CLI runs (kind `runs`) does not.
            let group_link = |col: &str, row: &[String]| (col == "experiment_id" && row[2] != "runs").then(|| report_link(&row[0]));
            let sections = [
                section(
                    "Experiments and sweeps",
                    "Each experiment, sweep, and the CLI runs (kind runs), newest first. Follow an id for its report.",
                    &html_table(&groups, &group_link),
                ),
                section(
                    "Simulations",
                    &format!("The {LISTED} newest committed simulations (total cost in currency units). Follow an id for its report."),
                    &html_table(&sims, &|c: &str, row: &[String]| (c == "id").then(|| report_link(&row[0]))),
                ),
                section("SQL", "A read-only query over every view (`simcash schema` lists them).", SQL_FORM),
            ];
            Reply::html(200, page("simcash", "read-only view of the dataset", &sections))
        }
        Err(e) => Reply::error(500, &e.to_string()),
    }
}

const SQL_FORM: &str = r#"<form action="/sql" method="get"><textarea name="q" rows="4" cols="100">SELECT * FROM agent_costs LIMIT 20</textarea><br><button type="submit">Run</button> <button type="submit" formaction="/sql.csv">Download CSV</button></form>"#;

async fn sql_page(ctx: &SessionContext, sql: &str) -> Reply {
    if sql.trim().is_empty() {
        return Reply::error(400, "No query: give one as ?q=SELECT …");
    }
    match read_only(ctx, sql, Some(PAGE_ROWS + 1)).await {
        Ok(batches) => {
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let more = if rows > PAGE_ROWS { format!(" Only the first {PAGE_ROWS} rows are shown; download the CSV for all.") } else { String::new() };
            let shown = cut(&batches, PAGE_ROWS);
            let form = SQL_FORM.replace("SELECT * FROM agent_costs LIMIT 20", &escape(sql));
            let body = format!("{form}{}", html_table(&shown, &|_: &str, _: &[String]| None));
            Reply::html(200, page("simcash SQL", "", &[section("Result", &format!("{} row(s).{more}", rows.min(PAGE_ROWS)), &(BACK.to_owned() + &body))]))
        }
        Err(e) => Reply::error(400, &format!("The query was refused: {e}")),
    }
}

async fn sql_csv(ctx: &SessionContext, sql: &str) -> Reply {
    match read_only(ctx, sql, Some(CSV_ROWS + 1)).await {
        Ok(batches) if batches.iter().map(RecordBatch::num_rows).sum::<usize>() > CSV_ROWS => {
            Reply::error(413, &format!("The result has more than {CSV_ROWS} rows: use `simcash export` for results this large."))
        }
        Ok(batches) => {
            let mut body = Vec::new();
            match output::write(Format::Csv, &batches, &mut body) {
                Ok(()) => Reply { status: 200, kind: "text/csv; charset=utf-8", body },
                Err(e) => Reply::error(400, &e.to_string()),
            }
        }
        Err(e) => Reply::error(400, &format!("The query was refused: {e}")),
    }
}

/// The path of the report of `id`.
fn report_link(id: &str) -> String {
    format!("/report/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>())
}

/// The first `n` rows of `batches`.
fn cut(batches: &[RecordBatch], n: usize) -> Vec<RecordBatch> {
    let mut left = n;
    batches
        .iter()
        .map_while(|b| {
            let take = b.num_rows().min(left);
            left -= take;
            (take > 0).then(|| b.slice(0, take))
        })
        .collect()
}

/// Batches as an HTML table; `link` may turn a cell (by column name and row) into a link.
fn html_table(batches: &[RecordBatch], link: &dyn Fn(&str, &[String]) -> Option<String>) -> String {
    let Some(schema) = batches.first().map(RecordBatch::schema) else { return "<p>No rows.</p>".into() };
    let mut s = String::from("<table><thead><tr>");
    for f in schema.fields() {
        s.push_str(&format!("<th>{}</th>", escape(f.name())));
    }
    s.push_str("</tr></thead><tbody>");
    let options = FormatOptions::default().with_null("");
    for b in batches {
        let formatters: Vec<_> = b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect();
        for r in 0..b.num_rows() {
            let row: Vec<String> = formatters.iter().map(|f| f.as_ref().map_or_else(|e| e.to_string(), |f| f.value(r).to_string())).collect();
            s.push_str("<tr>");
            for (f, cell) in schema.fields().iter().zip(&row) {
                match link(f.name(), &row) {
                    Some(href) => s.push_str(&format!(r#"<td><a href="{}">{}</a></td>"#, escape(&href), escape(cell))),
                    None => s.push_str(&format!("<td>{}</td>", escape(cell))),
                }
            }
            s.push_str("</tr>");
        }
    }
    s.push_str("</tbody></table>");
    s
}
