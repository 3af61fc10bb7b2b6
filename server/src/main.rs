//! `snapwire-relay`: run a Snapwire relay on this host.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use snapwire_relay::config::{Config, Retention, Storage};
use snapwire_relay::discovery::{Advert, Advertiser};
use snapwire_relay::guard::HostLimits;
use snapwire_relay::join_link::{JoinQr, join_link};
use snapwire_relay::lan;
use snapwire_relay::protocol::validate::DEFAULT_ROOM;
use tracing_subscriber::EnvFilter;

/// jemalloc with its background thread on: freed memory goes back to the system a
/// few seconds after a burst (rooms unloaded, connections gone). glibc's malloc
/// keeps it in its arenas: 140 MiB resident with 1.6 MiB live after 100 full rooms
/// emptied (docs/SECURITY.md, "Memory").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read by jemalloc itself before `main` (no later call can set
/// them for every arena): freed pages go back to the system within about 100 ms
/// rather than ten seconds, so RSS falls back near idle soon after a burst or an
/// attack (about 2× idle instead of 5×, docs/SECURITY.md, "Memory"), and under
/// churn stays near what the memory budget accounts (a 200 MB mass replay: 86 MB
/// peak RSS against 100-107 MB with 1 s, same CPU; docs/PERFORMANCE.md).
/// `_RJEM_MALLOC_CONF` in the environment still overrides them.
// SAFETY: the only unsafe item of the workspace. jemalloc declares
// `const char *malloc_conf` (weak) and reads it once; this strong definition is a
// thin pointer to a NUL-terminated, immutable, 'static string, which is that layout.
#[cfg(not(target_env = "msvc"))]
#[allow(unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static JEMALLOC_OPTIONS: &[u8; 36] = b"dirty_decay_ms:100,muzzy_decay_ms:0\0";

/// A Snapwire relay: everyone connected to the same room sees every picture.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "SNAPWIRE_LISTEN", default_value = "0.0.0.0:7600")]
    listen: SocketAddr,
    /// Directory for retained history [default: the platform's data directory].
    #[arg(long, env = "SNAPWIRE_DATA_DIR", conflicts_with = "memory")]
    data_dir: Option<PathBuf>,
    /// Keep history in memory only: it is gone when the relay stops.
    #[arg(long, env = "SNAPWIRE_MEMORY")]
    memory: bool,
    /// Require this access token from every client.
    #[arg(long, env = "SNAPWIRE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Largest image accepted, in MB (1 MB = 1,048,576 bytes).
    #[arg(long, env = "SNAPWIRE_MAX_IMAGE_MB", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=4096))]
    max_image_mb: u64,
    /// Items each room keeps.
    #[arg(long, env = "SNAPWIRE_RETAIN_ITEMS", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    retain_items: u64,
    /// Megabytes each room keeps.
    #[arg(long, env = "SNAPWIRE_RETAIN_MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    retain_mb: u64,
    /// Memory budget in MB for everything the relay holds for connections together
    /// (queued messages, catch-up reads, partly received messages); when it is
    /// reached the relay reads from connections only as fast as memory frees up.
    #[arg(long, env = "SNAPWIRE_MAX_MEMORY_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(8..=65_536))]
    max_memory_mb: u64,
    /// How long in all, in milliseconds, a room waits for one receiver that holds it
    /// back before going on without it (refilled at 5% of the time; 0: never waits
    /// for one receiver). See docs/PROTOCOL.md, "Holding".
    #[arg(long, env = "SNAPWIRE_HOLD_ALLOWANCE_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    hold_allowance_ms: u64,
    /// Name advertised on the LAN [default: the host name].
    #[arg(long, env = "SNAPWIRE_NAME")]
    name: Option<String>,
    /// Megabytes of history all rooms together keep, uploads in progress included;
    /// past it the oldest items of the largest rooms are pruned first.
    #[arg(long, env = "SNAPWIRE_MAX_DISK_MB", default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1..=1_073_741_824))]
    max_disk_mb: u64,
    /// Rooms that may exist at once; a hello naming a new room past it gets `bad_room`.
    #[arg(long, env = "SNAPWIRE_MAX_ROOMS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_rooms: u64,
    /// Connections one host (IPv4 address or IPv6 /64) may hold at once.
    #[arg(long, env = "SNAPWIRE_MAX_CONNECTIONS_PER_HOST", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    max_connections_per_host: u64,
    /// Lift every per-host limit (connections, joins, failed tokens, items a
    /// minute): only for load tests whose clients all run on one machine.
    #[arg(long, env = "SNAPWIRE_NO_HOST_LIMITS")]
    no_host_limits: bool,
    /// Let web pages of this origin (e.g. `https://example.org`) connect; repeat for
    /// more, `*` for any. The relay's own page is always allowed.
    #[arg(
        long = "allow-origin",
        env = "SNAPWIRE_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    allow_origin: Vec<String>,
    /// Require `Authorization: Bearer <token>` for /metrics (/healthz stays open).
    #[arg(long, env = "SNAPWIRE_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Do not advertise the relay on the LAN with mDNS.
    #[arg(long, env = "SNAPWIRE_NO_MDNS")]
    no_mdns: bool,
}

/// Prints a line to stdout; a closed stdout (a pipe nobody reads) is not a reason to stop.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    // clap exits with code 2 on a bad flag.
    let args = Args::parse();
    let config = match config_from(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("snapwire-relay: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Disk work (writes, fsyncs, reads from retention) runs on the blocking pool in
    // short tasks; past 64 threads they queue instead of growing the pool to
    // hundreds of threads after a burst of uploads (tokio's default cap is 512).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("snapwire-relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snapwire-relay: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn config_from(args: &Args) -> anyhow::Result<Config> {
    let storage = if args.memory {
        Storage::Memory
    } else {
        match &args.data_dir {
            Some(dir) => Storage::Disk(dir.clone()),
            None => Storage::Disk(
                directories::ProjectDirs::from("org", "Snapwire", "snapwire-relay")
                    .context("no home directory to put the data in: pass --data-dir or --memory")?
                    .data_dir()
                    .to_path_buf(),
            ),
        }
    };
    Ok(Config {
        storage,
        retention: Retention {
            max_items: args.retain_items as usize,
            max_bytes: args.retain_mb * 1024 * 1024,
        },
        token: args.token.clone().filter(|t| !t.is_empty()),
        max_image_bytes: args.max_image_mb * 1024 * 1024,
        max_memory_bytes: usize::try_from(args.max_memory_mb * 1024 * 1024)
            .context("--max-memory-mb is too large for this machine")?,
        hold_allowance: std::time::Duration::from_millis(args.hold_allowance_ms),
        name: args.name.clone().unwrap_or_else(lan::host_name),
        max_history_bytes: args.max_disk_mb * 1024 * 1024,
        max_rooms: args.max_rooms as usize,
        host_limits: if args.no_host_limits {
            HostLimits::unlimited()
        } else {
            HostLimits {
                max_connections: args.max_connections_per_host as usize,
                ..HostLimits::default()
            }
        },
        allowed_origins: args
            .allow_origin
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect(),
        metrics_token: args.metrics_token.clone().filter(|t| !t.is_empty()),
        ..Config::default()
    })
}

async fn run(args: Args, config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let advert = Advert {
        instance: config.name.clone(),
        port: listener.local_addr()?.port(),
        needs_token: config.token.is_some(),
        tls: false,
    };
    let storage = match &config.storage {
        Storage::Disk(dir) => format!("history in {}", dir.display()),
        Storage::Memory => "history in memory only".to_owned(),
    };
    let relay = snapwire_relay::start(listener, config).await?;
    let addr = relay.local_addr();
    say!(
        "snapwire-relay {}: listening on ws://{addr}/ws ({storage})",
        env!("CARGO_PKG_VERSION")
    );
    if addr.ip().is_unspecified() {
        let urls: Vec<String> = lan::lan_addresses()
            .into_iter()
            .map(|ip| lan::ws_url(ip, addr.port()))
            .collect();
        if urls.is_empty() {
            say!(
                "no LAN address found; on this computer use ws://127.0.0.1:{}/ws",
                addr.port()
            );
        } else {
            say!("people on your network can connect to: {}", urls.join("  "));
        }
    }
    print_join_link(addr);
    let _advertiser = if args.no_mdns {
        None
    } else {
        match Advertiser::start(&advert, &[]) {
            Ok(advertiser) => {
                say!(
                    "advertising \"{}\" on the LAN ({})",
                    advert.instance,
                    snapwire_relay::discovery::SERVICE_TYPE
                );
                Some(advertiser)
            }
            Err(e) => {
                tracing::warn!(error = %e, "LAN discovery is off: could not advertise");
                None
            }
        }
    };
    shutdown_signal().await;
    say!("stopping: telling clients, flushing history");
    relay.shutdown().await
}

/// Prints the web client's link for the default room, and its QR code for a
/// phone's camera: LAN addresses when listening on all interfaces, else the
/// address listened on.
fn print_join_link(addr: SocketAddr) {
    let hosts = if addr.ip().is_unspecified() {
        lan::lan_addresses()
    } else {
        vec![addr.ip()]
    };
    let links: Vec<String> = hosts
        .iter()
        .map(|ip| join_link(SocketAddr::new(*ip, addr.port()), DEFAULT_ROOM))
        .collect();
    let Some(first) = links.first() else {
        return;
    };
    say!("phones and browsers: open {} or scan:", links.join("  "));
    match JoinQr::new(first) {
        Ok(qr) => say!("{}", qr.to_terminal()),
        Err(e) => tracing::warn!(error = %e, "no QR code for the join link"),
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
