//! `simcash serve`: the read-only local web UI.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Context;
use clap::Args;

use super::DataArgs;
use super::sql::{open, runtime};
use crate::query;

/// Arguments of `simcash serve` (the help text is on `Command::Serve`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Address to listen on. Anything but a loopback address exposes the dataset to the
    /// network (without authentication), so it prints a warning.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `simcash serve` until interrupted.
pub fn cmd_serve(args: ServeArgs) -> anyhow::Result<()> {
    let dataset = open(&args.data)?;
    let rt = runtime()?;
    let ctx = rt.block_on(query::session(&dataset))?;
    let server = tiny_http::Server::http(SocketAddr::new(args.bind, args.port))
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    if !args.bind.is_loopback() {
        eprintln!("warning: listening on {} exposes the dataset to anyone who can reach this machine (no authentication)", args.bind);
    }
    let addr = server.server_addr().to_ip().map_or_else(|| format!("{}:{}", args.bind, args.port), |a| a.to_string());
    eprintln!("serving {} read-only at http://{addr}/ (Ctrl-C stops)", args.data.data);
    crate::serve::run(&server, &ctx, rt);
    Ok(())
}
