//! `loadgen`: the relay against a raw-TCP fan-out baseline, side by side (issue 4).
//!
//! ```text
//! cargo bench -p snapwire-relay --bench loadgen -- [--quick] [--scenario fanout|stall|idle]...
//! ```
//!
//! `cargo bench` builds this file and the `snapwire-relay` binary it measures with the
//! release profile; each run starts a fresh relay process (`--listen 127.0.0.1:0
//! --no-mdns`, `--memory` or `--data-dir <tmp>`) and a fresh baseline process (this
//! binary with `--serve-baseline`), so peak RSS and CPU time are each server's own.
//! Prints JSON lines as runs finish and a table at the end. See docs/PERFORMANCE.md.

mod core;
mod pressure;
mod soak;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::json;

use crate::core::{Load, Outcome, ProcStats, RelayStorage, ServerProcess};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// N ∈ {1, 10, 50} receivers × S ∈ {100 KB, 2 MB, 20 MB}.
    Fanout,
    /// 9 readers with and without a 10th receiver that never reads.
    Stall,
    /// RSS of 500 idle connections.
    Idle,
    /// 49 readers with and without a 50th that reads at 2 MB/s (issue 8).
    Slow,
    /// 20 receivers join a room with 200 MB of history at once, 5 read slowly (issue 8).
    History,
    /// One host: 400 parked fragmented messages, 50 hello-and-never-read in a room
    /// with 200 MB of history; a text round trip elsewhere meanwhile (issue 8).
    Abuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StorageArg {
    Memory,
    Disk,
    Both,
}

/// Load generator: the relay vs a raw-TCP fan-out baseline, over loopback.
#[derive(Debug, Parser)]
struct Args {
    /// Fewer images per run (a smoke run of every scenario in about a minute).
    #[arg(long)]
    quick: bool,
    /// Scenarios to run (repeatable) [default: all].
    #[arg(long, value_enum)]
    scenario: Vec<Scenario>,
    /// Receiver counts of the fan-out grid.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 50])]
    receivers: Vec<usize>,
    /// Image sizes of the fan-out grid, in bytes (10^3-based: 100000 is "100 KB").
    #[arg(long, value_delimiter = ',', default_values_t = [100_000, 2_000_000, 20_000_000])]
    sizes: Vec<usize>,
    /// Images per run [default: by size, fewer with --quick].
    #[arg(long)]
    images: Option<usize>,
    /// Senders per run.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Images each sender may have in flight (1: the next starts when every
    /// receiver has verified the previous one).
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Relay storage: in memory, on disk (a temp data dir), or both.
    #[arg(long, value_enum, default_value_t = StorageArg::Both)]
    storage: StorageArg,
    /// The relay binary [default: the one cargo built with this bench].
    #[arg(long)]
    relay: Option<PathBuf>,
    /// Also append the JSON lines to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Idle connections of the idle scenario.
    #[arg(long, default_value_t = 500)]
    idle: usize,
    /// Soak instead of the benchmarks: this many seconds of clients sending, leaving
    /// and rejoining, then an exact delivery check and RSS/fd samples (soak.rs).
    #[arg(long)]
    soak_secs: Option<u64>,
    /// Clients of the soak.
    #[arg(long, default_value_t = 20)]
    soak_clients: usize,
    /// Internal: serve the raw-TCP baseline and print its address.
    #[arg(long, hide = true)]
    serve_baseline: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One row of the results.
struct Row {
    scenario: String,
    server: String,
    load: Load,
    outcome: Outcome,
    stats: ProcStats,
    /// (MB/s, p50 ms, peak RSS KB, CPU s) of the matching baseline run.
    base: Option<(f64, f64, u64, f64)>,
    /// CPU seconds the load generator itself (every client) used during the run: on
    /// 2 cores the clients compete with the server, so a ratio is only a ceiling of
    /// the relay when the relay, not the clients, is what ran out of CPU.
    client_cpu_s: f64,
    note: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    if args.serve_baseline {
        return runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("baseline listening on {}", listener.local_addr()?);
            core::serve_tcp_fanout(listener).await;
            Ok(())
        });
    }
    let relay_bin = args
        .relay
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_snapwire-relay")));
    if let Some(secs) = args.soak_secs {
        return soak::bench_main(&runtime, &relay_bin, args.soak_clients, secs);
    }
    let me = std::env::current_exe()?;
    let scenarios = if args.scenario.is_empty() {
        vec![Scenario::Fanout, Scenario::Stall, Scenario::Idle]
    } else {
        args.scenario.clone()
    };
    let storages: Vec<&str> = match args.storage {
        StorageArg::Memory => vec!["memory"],
        StorageArg::Disk => vec!["disk"],
        StorageArg::Both => vec!["memory", "disk"],
    };
    let mut json_file = match &args.json {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => None,
    };
    let mut rows = Vec::new();
    let mut idle_lines = Vec::new();
    let mut emit = |value: serde_json::Value| {
        println!("{value}");
        if let Some(file) = json_file.as_mut() {
            use std::io::Write;
            let _ = writeln!(file, "{value}");
        }
    };
    let tmp_root =
        TempRoot(std::env::temp_dir().join(format!("snapwire-loadgen-{}", std::process::id())));
    let mut run_no = 0;
    let mut storage_for = |name: &str| -> RelayStorage {
        run_no += 1;
        match name {
            "disk" => RelayStorage::Disk(tmp_root.0.join(format!("run-{run_no}"))),
            _ => RelayStorage::Memory,
        }
    };

    for scenario in scenarios {
        match scenario {
            Scenario::Fanout => {
                for &size in &args.sizes {
                    for &n in &args.receivers {
                        let load = Load {
                            receivers: n,
                            stalled: 0,
                            slow: 0,
                            slow_rate: 0.0,
                            senders: args.senders,
                            images: args
                                .images
                                .unwrap_or_else(|| default_images(size, args.quick)),
                            size,
                            window: args.window,
                            time_limit: time_limit(n, size),
                        };
                        let base = run_baseline(&runtime, &me, &load)?;
                        let base_key = key(&base.outcome, &base.stats);
                        emit(row_json("fanout", &base));
                        rows.push(Row {
                            scenario: "fanout".into(),
                            ..base
                        });
                        for storage in &storages {
                            let mut row =
                                run_relay(&runtime, &relay_bin, storage_for(storage), &load)?;
                            row.scenario = "fanout".into();
                            row.base = Some(base_key);
                            emit(row_json("fanout", &row));
                            rows.push(row);
                        }
                    }
                }
            }
            Scenario::Stall => {
                let size = 2_000_000;
                let images = args.images.unwrap_or(if args.quick { 20 } else { 60 });
                let mut load = Load {
                    receivers: 9,
                    stalled: 0,
                    slow: 0,
                    slow_rate: 0.0,
                    senders: args.senders,
                    images,
                    size,
                    window: args.window,
                    time_limit: time_limit(10, size),
                };
                for storage in &storages {
                    load.stalled = 0;
                    let mut plain = run_relay(&runtime, &relay_bin, storage_for(storage), &load)?;
                    plain.scenario = "stall".into();
                    plain.note = "9 readers".into();
                    emit(row_json("stall", &plain));
                    let plain_key = key(&plain.outcome, &plain.stats);
                    rows.push(plain);
                    load.stalled = 1;
                    let mut stalled = run_relay(&runtime, &relay_bin, storage_for(storage), &load)?;
                    stalled.scenario = "stall".into();
                    stalled.note = "9 readers + 1 stalled; ratios vs 9 readers alone".into();
                    stalled.base = Some(plain_key);
                    emit(row_json("stall", &stalled));
                    rows.push(stalled);
                }
            }
            Scenario::Idle => {
                let n = args.idle;
                let base = ServerProcess::baseline(&me).map_err(anyhow::Error::msg)?;
                let readings = runtime.block_on(idle_rss(&base, n, None))?;
                drop(base);
                let mut line = idle_json("tcp-baseline", n, readings);
                emit(line.clone());
                idle_lines.push(line);
                for storage in &storages {
                    let relay = ServerProcess::relay(&relay_bin, &storage_for(storage), 50)
                        .map_err(anyhow::Error::msg)?;
                    let readings = runtime.block_on(idle_rss(&relay, n, Some("idle")))?;
                    drop(relay);
                    line = idle_json(&format!("relay-{storage}"), n, readings);
                    emit(line.clone());
                    idle_lines.push(line);
                }
            }
            Scenario::Slow => {
                let size = 20_000_000;
                let mut load = Load {
                    receivers: 49,
                    stalled: 0,
                    slow: 0,
                    slow_rate: 2e6,
                    senders: args.senders,
                    images: args.images.unwrap_or(if args.quick { 3 } else { 10 }),
                    size,
                    window: args.window,
                    time_limit: time_limit(50, size),
                };
                for storage in &storages {
                    load.slow = 0;
                    let mut plain = run_relay(&runtime, &relay_bin, storage_for(storage), &load)?;
                    plain.scenario = "slow".into();
                    emit(row_json("slow", &plain));
                    let plain_key = key(&plain.outcome, &plain.stats);
                    rows.push(plain);
                    load.slow = 1;
                    let mut slow = run_relay(&runtime, &relay_bin, storage_for(storage), &load)?;
                    slow.scenario = "slow".into();
                    slow.note = "49 readers + 1 at 2 MB/s; ratios vs 49 alone".into();
                    slow.base = Some(plain_key);
                    emit(row_json("slow", &slow));
                    rows.push(slow);
                }
            }
            Scenario::History | Scenario::Abuse => {
                for storage in &storages {
                    let relay = ServerProcess::relay(&relay_bin, &storage_for(storage), 50)
                        .map_err(anyhow::Error::msg)?;
                    let before = relay.stats();
                    let clients_before = core::proc_stats(std::process::id()).cpu_s;
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
                    let (count, size) = if args.quick {
                        (5, 20_000_000)
                    } else {
                        (10, 20_000_000)
                    };
                    let mut line = if scenario == Scenario::History {
                        runtime.block_on(pressure::history_join(
                            relay.addr, count, size, 20, 5, 20e6, deadline,
                        ))
                    } else {
                        runtime.block_on(pressure::abuse(
                            relay.addr, 400, 50, count, size, 50, deadline,
                        ))
                    };
                    let after = relay.stats();
                    let name = if scenario == Scenario::History {
                        "history"
                    } else {
                        "abuse"
                    };
                    line["scenario"] = json!(name);
                    line["server"] = json!(format!("relay-{storage}"));
                    line["peak_rss_kb"] = json!(after.peak_rss_kb);
                    line["cpu_s"] = json!(round3(after.cpu_s - before.cpu_s));
                    line["client_cpu_s"] = json!(round3(
                        core::proc_stats(std::process::id()).cpu_s - clients_before
                    ));
                    line["memory_peak_bytes"] =
                        json!(relay_metric(relay.addr, "snapwire_memory_peak_bytes"));
                    line["memory_budget_reached"] = json!(relay_metric(
                        relay.addr,
                        "snapwire_memory_budget_reached_total"
                    ));
                    drop(relay);
                    emit(line.clone());
                    idle_lines.push(line);
                }
            }
        }
    }
    drop(tmp_root);
    print_table(&rows, &idle_lines);
    Ok(())
}

/// The relays' data dirs; removed however the bench ends (short of a kill).
struct TempRoot(PathBuf);

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One value from the relay's `/metrics` (loopback, plain HTTP).
fn relay_metric(addr: std::net::SocketAddr, name: &str) -> Option<u64> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut page = String::new();
    tcp.read_to_string(&mut page).ok()?;
    page.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

fn idle_json(server: &str, n: usize, (none, one, two): (u64, u64, u64)) -> serde_json::Value {
    json!({
        "scenario": "idle", "server": server, "connections": n,
        "rss_0_kb": none, "rss_n_kb": one, "rss_2n_kb": two,
        "bytes_per_connection": (one.saturating_sub(none) * 1024) as f64 / n as f64,
        "marginal_bytes_per_connection": (two.saturating_sub(one) * 1024) as f64 / n as f64,
    })
}

fn default_images(size: usize, quick: bool) -> usize {
    match (size, quick) {
        (..=500_000, false) => 200,
        (..=500_000, true) => 40,
        (..=5_000_000, false) => 40,
        (..=5_000_000, true) => 10,
        (_, false) => 10,
        (_, true) => 3,
    }
}

/// Generous: a run that takes this long has failed anyway.
fn time_limit(receivers: usize, size: usize) -> Duration {
    let bytes = (receivers.max(1) * size) as u64 * 200;
    Duration::from_secs(30 + (bytes / 50_000_000).min(270))
}

fn key(outcome: &Outcome, stats: &ProcStats) -> (f64, f64, u64, f64) {
    (
        outcome.mb_per_sec(),
        outcome.latency_ms(0.5),
        stats.peak_rss_kb,
        stats.cpu_s,
    )
}

fn run_baseline(
    runtime: &tokio::runtime::Runtime,
    me: &std::path::Path,
    load: &Load,
) -> anyhow::Result<Row> {
    let server = ServerProcess::baseline(me).map_err(anyhow::Error::msg)?;
    let before = server.stats();
    let clients_before = core::proc_stats(std::process::id()).cpu_s;
    let outcome = runtime.block_on(core::run_tcp_load(server.addr, load));
    let client_cpu_s = core::proc_stats(std::process::id()).cpu_s - clients_before;
    let after = server.stats();
    Ok(Row {
        scenario: String::new(),
        server: "tcp-baseline".into(),
        load: load.clone(),
        outcome,
        stats: ProcStats {
            cpu_s: after.cpu_s - before.cpu_s,
            ..after
        },
        base: None,
        client_cpu_s,
        note: String::new(),
    })
}

fn run_relay(
    runtime: &tokio::runtime::Runtime,
    bin: &std::path::Path,
    storage: RelayStorage,
    load: &Load,
) -> anyhow::Result<Row> {
    let max_mb = (load.size as u64 / (1024 * 1024) + 1).max(50);
    let name = match &storage {
        RelayStorage::Memory => "relay-memory",
        RelayStorage::Disk(_) => "relay-disk",
    };
    let server = ServerProcess::relay(bin, &storage, max_mb).map_err(anyhow::Error::msg)?;
    let before = server.stats();
    let clients_before = core::proc_stats(std::process::id()).cpu_s;
    let outcome = runtime.block_on(core::run_relay_load(server.addr, "bench", load));
    let client_cpu_s = core::proc_stats(std::process::id()).cpu_s - clients_before;
    let after = server.stats();
    drop(server);
    if let RelayStorage::Disk(dir) = &storage {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(Row {
        scenario: String::new(),
        server: name.into(),
        load: load.clone(),
        outcome,
        stats: ProcStats {
            cpu_s: after.cpu_s - before.cpu_s,
            ..after
        },
        base: None,
        client_cpu_s,
        note: String::new(),
    })
}

/// RSS (KB) with no connection (after a warm-up of 50 opened and closed, so the
/// runtime's threads and arenas are there already), with `n` idle connections, and
/// with `2n`.
async fn idle_rss(
    server: &ServerProcess,
    n: usize,
    relay_room: Option<&str>,
) -> anyhow::Result<(u64, u64, u64)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let mut held_relay = Vec::new();
    let mut held_tcp = Vec::new();
    let open = |count: usize, round: usize| {
        let room = relay_room.map(|r| format!("{r}{round}"));
        async move {
            match room {
                Some(room) => core::idle_relay_connections(server.addr, &room, count, deadline)
                    .await
                    .map(|c| (c, Vec::new())),
                None => core::idle_tcp_connections(server.addr, count, deadline)
                    .await
                    .map(|c| (Vec::new(), c)),
            }
            .map_err(anyhow::Error::msg)
        }
    };
    drop(open(50, 0).await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let none = server.stats().rss_kb;
    let mut readings = Vec::new();
    for round in 1..=2 {
        let (relay, tcp) = open(n, round).await?;
        held_relay.extend(relay);
        held_tcp.extend(tcp);
        tokio::time::sleep(Duration::from_millis(500)).await;
        readings.push(server.stats().rss_kb);
    }
    Ok((none, readings[0], readings[1]))
}

fn ratio(a: f64, b: f64) -> serde_json::Value {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        json!((a / b * 1000.0).round() / 1000.0)
    } else {
        serde_json::Value::Null
    }
}

fn row_json(scenario: &str, row: &Row) -> serde_json::Value {
    let o = &row.outcome;
    let mut value = json!({
        "scenario": scenario,
        "server": row.server,
        "receivers": row.load.receivers,
        "stalled": row.load.stalled,
        "senders": row.load.senders,
        "images": row.load.images,
        "size_bytes": row.load.size,
        "window": row.load.window,
        "images_done": o.images_done,
        "images_per_s": round3(o.images_per_sec()),
        "delivered_mb_per_s": round3(o.mb_per_sec()),
        "p50_ms": round3(o.latency_ms(0.5)),
        "p99_ms": round3(o.latency_ms(0.99)),
        "max_ms": round3(o.latency_ms(1.0)),
        "peak_rss_kb": row.stats.peak_rss_kb,
        "cpu_s": round3(row.stats.cpu_s),
        "client_cpu_s": round3(row.client_cpu_s),
        "lagging_cancels": lagging_cancels(o),
        "errors": o.errors.len(),
        "first_errors": o.errors.iter().take(3).collect::<Vec<_>>(),
    });
    if let Some((mbps, p50, rss, cpu)) = row.base {
        value["ratio_mb_per_s"] = ratio(o.mb_per_sec(), mbps);
        value["ratio_p50"] = ratio(o.latency_ms(0.5), p50);
        value["ratio_peak_rss"] = ratio(row.stats.peak_rss_kb as f64, rss as f64);
        value["ratio_cpu"] = ratio(row.stats.cpu_s, cpu);
    }
    value
}

/// `image_cancel` with reason `lagging` seen by receivers.
fn lagging_cancels(outcome: &Outcome) -> usize {
    outcome
        .errors
        .iter()
        .filter(|e| e.contains("image_cancel Lagging"))
        .count()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn size_label(size: usize) -> String {
    if size >= 1_000_000 {
        format!("{} MB", size / 1_000_000)
    } else {
        format!("{} KB", size / 1000)
    }
}

fn print_table(rows: &[Row], idle: &[serde_json::Value]) {
    println!();
    println!(
        "{:<7} {:<13} {:>5} {:>6} {:>4} {:>8} {:>9} {:>6} {:>9} {:>6} {:>9} {:>9} {:>8} {:>6} {:>6} {:>7} {:>4} {:>3}",
        "scen",
        "server",
        "K→N",
        "S",
        "M",
        "img/s",
        "MB/s",
        "×base",
        "p50 ms",
        "×base",
        "p99 ms",
        "max ms",
        "RSS MB",
        "×base",
        "CPU s",
        "clientS",
        "lag",
        "err"
    );
    for row in rows {
        let o = &row.outcome;
        let (rm, rp, rr) = match row.base {
            Some((mbps, p50, rss, _)) => (
                fmt_ratio(o.mb_per_sec() / mbps),
                fmt_ratio(o.latency_ms(0.5) / p50),
                fmt_ratio(row.stats.peak_rss_kb as f64 / rss as f64),
            ),
            None => ("".into(), "".into(), "".into()),
        };
        let n = if row.load.stalled > 0 {
            format!(
                "{}→{}+{}",
                row.load.senders, row.load.receivers, row.load.stalled
            )
        } else {
            format!("{}→{}", row.load.senders, row.load.receivers)
        };
        println!(
            "{:<7} {:<13} {:>5} {:>6} {:>4} {:>8.1} {:>9.1} {:>6} {:>9.2} {:>6} {:>9.2} {:>9.2} {:>8.1} {:>6} {:>6.2} {:>7.2} {:>4} {:>3}",
            row.scenario,
            row.server,
            n,
            size_label(row.load.size),
            o.images_done,
            o.images_per_sec(),
            o.mb_per_sec(),
            rm,
            o.latency_ms(0.5),
            rp,
            o.latency_ms(0.99),
            o.latency_ms(1.0),
            row.stats.peak_rss_kb as f64 / 1024.0,
            rr,
            row.stats.cpu_s,
            row.client_cpu_s,
            lagging_cancels(o),
            o.errors.len(),
        );
    }
    for line in idle {
        if line["scenario"] != "idle" {
            println!("{line}");
            continue;
        }
        println!(
            "idle    {:<13} RSS {} KB, with {} idle connections {} KB, with twice as many {} KB: {:.0} bytes per connection ({:.0} for the next ones)",
            line["server"].as_str().unwrap_or(""),
            line["rss_0_kb"],
            line["connections"],
            line["rss_n_kb"],
            line["rss_2n_kb"],
            line["bytes_per_connection"].as_f64().unwrap_or(f64::NAN),
            line["marginal_bytes_per_connection"]
                .as_f64()
                .unwrap_or(f64::NAN),
        );
    }
}

fn fmt_ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "-".into()
    }
}
