//! Two network namespaces joined by a veth pair, made by a test and removed when
//! dropped, and helpers to run processes in them. Shared by the relay's and the
//! app's discovery tests (the app includes this file by path). The addresses are
//! TEST-NET-1 documentation addresses that exist only on this pair, so no packet
//! leaves the namespaces. Needs root and iproute2; elsewhere `create` says so and
//! the test skips.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

/// The address of the first namespace (`server`), the second's is `BROWSER_ADDR`.
pub const SERVER_ADDR: &str = "192.0.2.1";
pub const BROWSER_ADDR: &str = "192.0.2.2";

pub fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The namespaces' names: `server` announces, `browser` looks.
pub struct Namespaces {
    pub server: String,
    pub browser: String,
}

impl Namespaces {
    /// `tag` keeps the namespaces of different test binaries apart (2 characters:
    /// interface names are at most 15).
    pub fn create(tag: &str) -> Option<Namespaces> {
        let id = std::process::id() % 100_000;
        let ns = Namespaces {
            server: format!("snapwire-{tag}s{id}"),
            browser: format!("snapwire-{tag}b{id}"),
        };
        let (veth_s, veth_b) = (format!("sw{tag}s{id}"), format!("sw{tag}b{id}"));
        let server_cidr = format!("{SERVER_ADDR}/24");
        let browser_cidr = format!("{BROWSER_ADDR}/24");
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &ns.server],
            vec!["netns", "add", &ns.browser],
            vec![
                "link", "add", &veth_s, "type", "veth", "peer", "name", &veth_b,
            ],
            vec!["link", "set", &veth_s, "netns", &ns.server],
            vec!["link", "set", &veth_b, "netns", &ns.browser],
            vec![
                "-n",
                &ns.server,
                "addr",
                "add",
                &server_cidr,
                "dev",
                &veth_s,
            ],
            vec![
                "-n",
                &ns.browser,
                "addr",
                "add",
                &browser_cidr,
                "dev",
                &veth_b,
            ],
            vec!["-n", &ns.server, "link", "set", &veth_s, "up"],
            vec!["-n", &ns.browser, "link", "set", &veth_b, "up"],
            vec!["-n", &ns.server, "link", "set", "lo", "up"],
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
        ip(&["netns", "del", &self.server]);
        ip(&["netns", "del", &self.browser]);
    }
}

/// A child process killed and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's stdout, over a channel so the parent can wait with a deadline.
pub fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
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

/// The first line containing `prefix`, or a panic at `until`.
pub fn wait_for(lines: &mpsc::Receiver<String>, prefix: &str, until: Instant) -> String {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(prefix) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line with {prefix:?} in time"),
        }
    }
}
