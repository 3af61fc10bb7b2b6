//! The relay's start-up output: the web client's join link and its QR code, so a
//! phone's camera is enough to join.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use snapwire_relay::join_link::{JoinQr, join_link};

/// The relay's process, killed when dropped.
struct Relay(std::process::Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn start_up_prints_the_join_link_and_its_qr_code() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapwire-relay"))
        .args(["--listen", "127.0.0.1:0", "--memory", "--no-mdns"])
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the relay");
    let stdout = child.stdout.take().expect("stdout");
    let _relay = Relay(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line of start-up output in time")
    };
    let listening = next();
    let addr = listening
        .split("ws://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {listening:?}"));
    let link = join_link(addr, "lobby");
    let mut line = next();
    while !line.starts_with("phones and browsers:") {
        line = next();
    }
    assert!(line.contains(&link), "{line:?} should offer {link}");
    let expected = JoinQr::new(&link).expect("qr").to_terminal();
    let mut printed = String::new();
    for _ in 0..expected.lines().count() {
        printed.push_str(&next());
        printed.push('\n');
    }
    assert_eq!(printed, expected, "the QR code of the link, as text blocks");
}
