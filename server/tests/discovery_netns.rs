//! LAN discovery for real: a relay advertises with mDNS in one network namespace and
//! a browser in another finds it over a veth pair. Both namespaces are made by this
//! test and removed after it; no packet leaves them. Needs root and iproute2 (both
//! present on the project's machines and in CI); elsewhere the test says so and skips.

mod netns;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns::{BROWSER_ADDR, Killed, Namespaces, SERVER_ADDR, lines_of, wait_for};

use snapwire_relay::discovery::{BrowseEvent, Browser};

const CHILD_ENV: &str = "SNAPWIRE_BROWSE_CHILD";

#[test]
fn a_relay_in_one_namespace_is_found_from_another_and_lost_when_it_stops() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // the browser child runs only `browse_child`
    }
    let Some(ns) = Namespaces::create("r") else {
        return;
    };
    let mut relay = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.server,
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
        found.contains(&format!("url=ws://{SERVER_ADDR}:{port}/ws")),
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
