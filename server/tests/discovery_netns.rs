//! LAN discovery for real: a relay advertises with mDNS in one network namespace and
//! a browser in another finds it over a veth pair. Both namespaces are made by this
//! test and removed after it; no packet leaves them. Needs root and iproute2 (both
//! present on the project's machines and in CI); elsewhere the test says so and skips.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use snapwire_relay::discovery::{BrowseEvent, Browser};

const CHILD_ENV: &str = "SNAPWIRE_BROWSE_CHILD";
/// Documentation addresses (TEST-NET-1): they exist only on our veth pair.
const RELAY_ADDR: &str = "192.0.2.1";
const BROWSER_ADDR: &str = "192.0.2.2";

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Two namespaces joined by a veth pair; removed on drop.
struct Namespaces {
    relay: String,
    browser: String,
}

impl Namespaces {
    fn create() -> Option<Namespaces> {
        let id = std::process::id() % 100_000;
        let ns = Namespaces {
            relay: format!("snapwire-r{id}"),
            browser: format!("snapwire-b{id}"),
        };
        let (veth_r, veth_b) = (format!("swr{id}"), format!("swb{id}"));
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &ns.relay],
            vec!["netns", "add", &ns.browser],
            vec![
                "link", "add", &veth_r, "type", "veth", "peer", "name", &veth_b,
            ],
            vec!["link", "set", &veth_r, "netns", &ns.relay],
            vec!["link", "set", &veth_b, "netns", &ns.browser],
            vec![
                "-n",
                &ns.relay,
                "addr",
                "add",
                "192.0.2.1/24",
                "dev",
                &veth_r,
            ],
            vec![
                "-n",
                &ns.browser,
                "addr",
                "add",
                "192.0.2.2/24",
                "dev",
                &veth_b,
            ],
            vec!["-n", &ns.relay, "link", "set", &veth_r, "up"],
            vec!["-n", &ns.browser, "link", "set", &veth_b, "up"],
            vec!["-n", &ns.relay, "link", "set", "lo", "up"],
            vec!["-n", &ns.browser, "link", "set", "lo", "up"],
        ];
        for step in steps {
            if !ip(&step) {
                eprintln!(
                    "skipping: `ip {}` failed (needs root and iproute2)",
                    step.join(" ")
                );
                return None;
            }
        }
        Some(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.relay]);
        ip(&["netns", "del", &self.browser]);
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's stdout, over a channel so the parent can wait with a deadline.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for(lines: &mpsc::Receiver<String>, prefix: &str, until: Instant) -> String {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(prefix) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line with {prefix:?} in time"),
        }
    }
}

#[test]
fn a_relay_in_one_namespace_is_found_from_another_and_lost_when_it_stops() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // the browser child runs only `browse_child`
    }
    let Some(ns) = Namespaces::create() else {
        return;
    };
    let mut relay = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.relay,
            env!("CARGO_BIN_EXE_snapwire-relay"),
        ])
        .args([
            "--listen",
            "0.0.0.0:0",
            "--memory",
            "--name",
            "Netns relay",
            "--token",
            "t0k",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay in its namespace");
    let relay_lines = lines_of(&mut relay);
    let relay = Killed(relay);
    let deadline = Instant::now() + Duration::from_secs(20);
    let listening = wait_for(&relay_lines, "listening on ws://", deadline);
    let port: u16 = listening
        .split("listening on ws://0.0.0.0:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {listening:?}"));
    wait_for(&relay_lines, "advertising", deadline);

    let exe = std::env::current_exe().expect("test binary");
    let mut browser = Command::new("ip")
        .args(["netns", "exec", &ns.browser])
        .arg(exe)
        .args([
            "--exact",
            "browse_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the browser in its namespace");
    let browser_lines = lines_of(&mut browser);
    let _browser = Killed(browser);

    let found = wait_for(&browser_lines, "FOUND ", deadline);
    assert!(found.contains("instance=Netns relay"), "{found}");
    assert!(
        found.contains(&format!("url=ws://{RELAY_ADDR}:{port}/ws")),
        "{found}"
    );
    assert!(found.contains("token=true"), "{found}");
    assert!(!found.contains(BROWSER_ADDR), "{found}");

    // SIGTERM: the relay withdraws its advertisement on the way out.
    let pid = relay.0.id().to_string();
    // `ip netns exec` execs the relay, so this pid is the relay's own.
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    let lost = wait_for(&browser_lines, "LOST ", deadline);
    assert!(lost.contains("Netns relay"), "{lost}");
}

/// The browser side, run inside the second namespace by the test above.
#[test]
#[ignore = "run inside a network namespace by a_relay_in_one_namespace_is_found_from_another"]
fn browse_child() {
    let browser = Browser::start().expect("start browsing");
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        let Some(event) = browser.next_event(Duration::from_millis(200)) else {
            continue;
        };
        match event {
            BrowseEvent::Found(relay) => println!(
                "FOUND instance={} url={} token={}",
                relay.instance,
                relay.url().unwrap_or_default(),
                relay.needs_token
            ),
            BrowseEvent::Lost(fullname) => {
                println!("LOST {fullname}");
                return;
            }
        }
    }
}
