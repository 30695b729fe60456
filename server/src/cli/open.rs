//! `gilscope open FILE`: keeps the run of a run file in the store, so the dashboard lists it
//! and opens it at `/?run=ID`. The file is checked through first: a damaged, foreign or
//! newer one is refused and nothing is stored. When a server holds the store (its lock), the
//! file is handed to that server (`POST /api/runs/import` on `--addr`) instead.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use gilscope_shared::history::RunEntry;

use crate::serve::{StoreArgs, DEFAULT_ADDR};
use crate::store::{file, Store, StoreError};

/// How long the server that holds the store may take to answer.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct OpenArgs {
    /// A run file (`GET /api/runs/{id}/file` or the dashboard's download).
    pub file: PathBuf,
    /// The server to hand the file to when it holds the store.
    #[arg(long, value_name = "ADDR", env = "GILSCOPE_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn main(args: OpenArgs) -> ExitCode {
    match open(&args) {
        Ok((entry, addr)) => {
            let name = entry.info.spec.preset.clone();
            println!(
                "run {} ({name}, {} events) is kept; open http://{addr}/?run={}",
                entry.info.id,
                entry.kept.map_or(0, |k| k.events),
                entry.info.id
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn open(args: &OpenArgs) -> anyhow::Result<(RunEntry, String)> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    file::read(&bytes).with_context(|| format!("cannot open {}", args.file.display()))?;
    let config = args
        .store
        .config()?
        .ok_or_else(|| anyhow!("--no-store: there is no store to open the run in"))?;
    match Store::open(config) {
        Ok(store) => {
            let id = store.max_id()? + 1;
            let entry = store.import(id, &bytes)?;
            Ok((entry, args.addr.clone()))
        }
        Err(StoreError::Locked { .. }) => {
            let addr: SocketAddr = args
                .addr
                .parse()
                .map_err(|e| anyhow!("invalid --addr {:?}: {e}", args.addr))?;
            let entry = post(addr, &bytes).with_context(|| {
                format!("a server holds the store; handing the file to it at {addr} failed")
            })?;
            Ok((entry, addr.to_string()))
        }
        Err(err) => Err(err.into()),
    }
}

/// `POST /api/runs/import` on `addr`, HTTP/1.1 by hand (one request; no client library).
fn post(addr: SocketAddr, body: &[u8]) -> anyhow::Result<RunEntry> {
    let mut stream = TcpStream::connect_timeout(&addr, SERVER_TIMEOUT)?;
    stream.set_read_timeout(Some(SERVER_TIMEOUT))?;
    stream.set_write_timeout(Some(SERVER_TIMEOUT))?;
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        crate::body_limit::IMPORT_PATH,
        body.len()
    )?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("the server's answer is cut short"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("?");
    if status != "201" {
        let error = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| body.to_string());
        bail!("the server answered {status}: {error}");
    }
    serde_json::from_str(body).context("the server's answer is not a run")
}
