//! `gilscope serve`: the dashboard and its websocket on one address; with `--classroom`, on
//! every interface for a class, printing the students' URLs, their QR code and the
//! teacher's URL with its token.

use std::net::SocketAddr;

use anyhow::{anyhow, Context};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::classroom::{lan, qr, Classroom, Token};

/// Default address: loopback only. Bind 0.0.0.0:PORT to let other machines watch.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7878";
/// Default address of a class: every interface.
pub const CLASSROOM_ADDR: &str = "0.0.0.0:7878";
/// Where a chosen token may come from instead of `--token`.
pub const TOKEN_ENV: &str = "GILSCOPE_TOKEN";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, IP:PORT (default 127.0.0.1:7878; 0.0.0.0:7878 with
    /// --classroom). Use 0.0.0.0:PORT to let other machines watch.
    #[arg(long, value_name = "ADDR", env = "GILSCOPE_ADDR")]
    pub addr: Option<String>,
    /// Run a class: listen on every interface, print the students' URLs and QR code and the
    /// teacher's URL; students follow the teacher, and only the teacher's token acts.
    #[arg(long)]
    pub classroom: bool,
    /// The teacher's token (default: $GILSCOPE_TOKEN, else 192 random bits): 16 to 256
    /// characters of A-Z a-z 0-9 - _ . ~
    #[arg(long, value_name = "TOKEN", requires = "classroom")]
    pub token: Option<String>,
    /// Websocket viewers at once, teacher included; one more is refused.
    #[arg(long, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_viewers: u32,
    /// Connections open at once from one address; one more is refused.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_per_address: u32,
    /// Open the dashboard in the default browser once the server listens.
    #[arg(long)]
    pub open: bool,
    /// The CPython that "Run on CPython" runs (default: $GILSCOPE_PYTHON, else `python3` on
    /// the PATH).
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Where runs are kept: `gilscope serve` and `gilscope open`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Directory runs are kept in (default: $GILSCOPE_DATA, else the user's data directory,
    /// e.g. ~/.local/share/gilscope).
    #[arg(long, value_name = "DIR", env = "GILSCOPE_DATA")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Bytes of runs kept at most; beyond it the oldest runs that are not starred go.
    #[arg(long, value_name = "BYTES", default_value_t = crate::store::DEFAULT_MAX_BYTES)]
    pub store_bytes: u64,
    /// Keep no runs: they live in memory only, as long as the server runs.
    #[arg(long)]
    pub no_store: bool,
}

impl StoreArgs {
    /// The store these flags ask for; None with --no-store.
    pub fn config(&self) -> anyhow::Result<Option<crate::store::StoreConfig>> {
        if self.no_store {
            return Ok(None);
        }
        let dir = match &self.data_dir {
            Some(dir) => dir.clone(),
            None => crate::store::schema::default_dir().ok_or_else(|| {
                anyhow!(
                    "no data directory for runs: set --data-dir or GILSCOPE_DATA (or --no-store)"
                )
            })?,
        };
        Ok(Some(crate::store::StoreConfig {
            max_bytes: self.store_bytes,
            ..crate::store::StoreConfig::new(dir)
        }))
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let given = args.addr.clone().unwrap_or_else(|| {
        if args.classroom {
            CLASSROOM_ADDR
        } else {
            DEFAULT_ADDR
        }
        .to_string()
    });
    let addr: SocketAddr = given.trim().parse().map_err(|e| {
        anyhow!("invalid --addr {given:?}: {e} (expected IP:PORT, e.g. {DEFAULT_ADDR})")
    })?;
    let token = match (args.classroom, args.token.clone()) {
        (false, _) => None,
        (true, Some(chosen)) => Some(Token::parse(&chosen)?),
        (true, None) => Some(match std::env::var(TOKEN_ENV) {
            Ok(chosen) if !chosen.is_empty() => Token::parse(&chosen)?,
            _ => Token::random()?,
        }),
    };
    if let Some(python) = &args.python {
        // The flag wins over the environment; set before any thread starts, read once by the
        // run manager when it is made.
        std::env::set_var(crate::cpython::python::PYTHON_ENV, python);
    }
    // The machine's bytecode rate is measured once per process (about 60 ms): now, rather
    // than inside the first run, whose timeline would start that much late.
    let _ = crate::engine::interpreter::bytecode::calibration();
    let mut limits = crate::limits::Limits {
        max_viewers: args.max_viewers as usize,
        connections_per_address: args.max_per_address as usize,
        ..crate::limits::Limits::default()
    };
    match crate::rlimit::raise_nofile() {
        Ok(files) => {
            limits.max_connections = crate::rlimit::connections_for(files, limits.max_connections);
        }
        Err(err) => tracing::warn!("cannot raise the open-file limit: {err}"),
    }
    tracing::debug!("at most {} connections at once", limits.max_connections);
    // Opened before anything listens: a second server on the same data directory stops here.
    let store = args.store.config()?.map(crate::store::Store::open);
    if let Some(Err(err @ crate::store::StoreError::Locked { .. })) = &store {
        return Err(anyhow!("{err}"));
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(serve(addr, args.open, limits, token, store))
}

async fn serve(
    addr: SocketAddr,
    open: bool,
    limits: crate::limits::Limits,
    token: Option<Token>,
    store: Option<Result<crate::store::Store, crate::store::StoreError>>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let url = url_for(local);
    let stop = stop_signal().context("cannot install the Ctrl-C and SIGTERM handlers")?;
    if !crate::assets::has_frontend() {
        tracing::warn!("this binary was built with GILSCOPE_SKIP_FRONTEND=1: no dashboard");
    }
    println!(
        "gilscope {} serves the dashboard at {url}  (Ctrl-C stops it)",
        crate::state::VERSION
    );
    let classroom = token.map(|token| Classroom {
        students: lan::student_urls(local),
        token,
    });
    let open_url = match &classroom {
        Some(class) => {
            print!("{}", class_banner(class, &url, local));
            teacher_url(&url, &class.token)
        }
        None => {
            if !local.ip().is_loopback() {
                println!("{}", watch_only_note(local));
            }
            url
        }
    };
    if open {
        if let Err(err) = open::that_detached(&open_url) {
            tracing::warn!("cannot open a browser: {err}; open the URL above yourself");
        }
    }

    let shutdown = CancellationToken::new();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            stop.await;
            tracing::info!("shutting down");
            shutdown.cancel();
        }
    });
    crate::app::serve_app(listener, shutdown, limits, classroom, store)
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// What a class's teacher reads at start: the students' URLs, a QR code of the first, and
/// the teacher's URL (the only place the token is ever shown).
fn class_banner(class: &Classroom, url: &str, local: SocketAddr) -> String {
    let mut out = String::from("\nClassroom: students open\n");
    for student in &class.students {
        out += &format!("    {student}\n");
    }
    match class.students.first() {
        Some(first) => out += &format!("{}\n", qr::terminal(first)),
        None => {
            out += &format!(
                "    (no address of this machine reaches other machines: listening on {local})\n"
            )
        }
    }
    out += &format!(
        "Teacher: open {}\n    (it sets a cookie, then the address bar drops the token; keep \
         this URL to yourself: whoever has it may start, stop and run code)\n\n",
        teacher_url(url, &class.token)
    );
    out
}

/// The teacher's URL: this machine's URL with the token.
fn teacher_url(url: &str, token: &Token) -> String {
    format!("{url}?token={}", token.reveal())
}

/// Said at start when other machines may watch but there is no class.
fn watch_only_note(local: SocketAddr) -> String {
    format!(
        "Listening on {local}: other machines may watch but not act (start, stop, run code). \
         To run a class, where students follow the teacher live and only the teacher acts: \
         gilscope serve --classroom"
    )
}

/// The URL a browser on this machine opens.
fn url_for(local: SocketAddr) -> String {
    let ip = match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        ip if ip.is_ipv6() => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("http://{ip}:{}/", local.port())
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future
/// is first polled: a signal that arrives right after the URL is printed still stops the
/// server gracefully.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::url_for;

    #[test]
    fn urls() {
        assert_eq!(
            url_for("127.0.0.1:7878".parse().unwrap()),
            "http://127.0.0.1:7878/"
        );
        assert_eq!(
            url_for("0.0.0.0:80".parse().unwrap()),
            "http://127.0.0.1:80/"
        );
        assert_eq!(url_for("[::]:9000".parse().unwrap()), "http://[::1]:9000/");
        assert_eq!(url_for("[::1]:9000".parse().unwrap()), "http://[::1]:9000/");
    }
}
