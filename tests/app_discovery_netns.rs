//! The app's discovery for real, across two network namespaces this test makes
//! (and removes): a child in one announces a hosted room the way "Host a room"
//! does; a child in the other runs the app windowless with its mDNS browser
//! on, and the relay shows in the connect view, then goes when the room stops.
//! No packet leaves the namespaces. Needs root and iproute2; elsewhere it says
//! so and skips.

#[path = "../server/tests/netns/mod.rs"]
mod netns;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netns::{Killed, Namespaces, lines_of, wait_for};
use snapwire::cli::Launch;
use support::ui::{has_text, setup, step_until};

const CHILD_ENV: &str = "SNAPWIRE_APP_NETNS_CHILD";
const ROOM_NAME: &str = "Ana's room";

fn child(ns: &str, test: &str) -> (Killed, mpsc::Receiver<String>) {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe)
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a child in its namespace");
    let rx = lines_of(&mut child);
    (Killed(child), rx)
}

#[test]
fn a_hosted_room_announced_in_one_namespace_shows_in_the_app_in_another() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let Some(ns) = Namespaces::create("a") else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut host, host_lines) = child(&ns.server, "announce_child");
    wait_for(&host_lines, "ANNOUNCED", deadline);
    let (_browser, browser_lines) = child(&ns.browser, "app_child");
    let found = wait_for(&browser_lines, "FOUND ", deadline);
    assert!(found.contains("address=192.0.2.1:7600"), "{found}");
    assert!(found.contains("token=false"), "{found}");

    // The room stops: its announcement is withdrawn and the app drops it.
    drop(host.0.stdin.take());
    wait_for(&host_lines, "WITHDRAWN", deadline);
    wait_for(&browser_lines, "LOST", deadline);
}

/// "Host a room" side: announces like the app does, until stdin closes.
#[test]
#[ignore = "run inside a network namespace by a_hosted_room_announced_in_one_namespace_…"]
fn announce_child() {
    let advertiser = snapwire::discovery::advertise(ROOM_NAME, 7600).expect("announce");
    println!("ANNOUNCED");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(advertiser);
    println!("WITHDRAWN");
    let _ = std::io::stdout().flush();
    // Give the goodbye packets a moment to leave before the process ends.
    std::thread::sleep(Duration::from_millis(500));
}

/// The app, windowless, with its real mDNS browser: prints what the connect view lists.
#[test]
#[ignore = "run inside a network namespace by a_hosted_room_announced_in_one_namespace_…"]
fn app_child() {
    let mut s = setup(Launch::ConnectView, |app| {
        app.start_discovery(snapwire::discovery::mdns());
    });
    step_until(&mut s.harness, "the announced room", |h| {
        has_text(h, ROOM_NAME)
    });
    let relay = s.harness.state().found.relays[0].clone();
    println!(
        "FOUND address={} token={}",
        snapwire::discovery::typed_address(&relay).unwrap_or_default(),
        relay.needs_token
    );
    step_until(&mut s.harness, "the room withdrawn", |h| {
        !has_text(h, ROOM_NAME)
    });
    println!("LOST");
}
