//! One window per home: a second `snapwire FILE` hands its files to the
//! window already running and exits; a stale socket is replaced; what a
//! peer writes on the socket is checked. (Unix only: elsewhere every launch
//! opens its own window.)
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use snapwire::repaint;
use snapwire::settings::Paths;
use snapwire::single_instance::{self, Claim, Handoff};
use support::net::WAIT;
use support::ui::{has_text, room_setup, step_until};

fn first(socket: &Path) -> mpsc::Receiver<Handoff> {
    let nobody = Handoff {
        files: Vec::new(),
        yes: false,
    };
    match single_instance::claim(socket, &nobody, repaint::nothing()) {
        Claim::First(rx) => rx,
        Claim::HandedOver => panic!("handed over to nobody"),
        Claim::Alone => panic!("no socket"),
    }
}

#[test]
fn a_second_launch_hands_its_files_over_and_exits() {
    let home = tempfile::tempdir().expect("home");
    let socket = Paths::in_dir(home.path()).instance_socket;
    let handoffs = first(&socket);
    let files = tempfile::tempdir().expect("files");
    std::fs::write(files.path().join("cat.png"), support::noisy_png(8, 8, 1)).expect("write");

    let child = Command::new(env!("CARGO_BIN_EXE_snapwire"))
        .args(["--no-discovery", "--yes", "cat.png"])
        .current_dir(files.path())
        .env("SNAPWIRE_HOME", home.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second launch");
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait_with_output());
    });
    let handoff = handoffs.recv_timeout(WAIT).expect("the files handed over");
    assert_eq!(
        handoff,
        Handoff {
            files: vec![files.path().join("cat.png")],
            yes: true
        }
    );
    let output = done_rx
        .recv_timeout(WAIT)
        .expect("the second launch exits")
        .expect("its output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("handed 1 file(s)"), "{stderr}");
}

#[test]
fn a_stale_socket_is_replaced_and_bad_requests_are_refused() {
    let home = tempfile::tempdir().expect("home");
    let socket = home.path().join("snapwire.sock");
    // A window that crashed leaves its socket file behind.
    drop(UnixListener::bind(&socket).expect("bind"));
    assert!(socket.exists());
    let handoffs = first(&socket);

    for bad in [
        &b"not json\n"[..],
        b"{\"files\":[\"relative.png\"],\"yes\":false}\n",
    ] {
        let mut stream = UnixStream::connect(&socket).expect("connect");
        stream.write_all(bad).expect("write");
        let mut answer = String::new();
        BufReader::new(&stream)
            .read_line(&mut answer)
            .expect("an answer");
        assert!(answer.starts_with("error: "), "{answer:?}");
    }
    // Still serving after the bad ones.
    let good = Handoff {
        files: vec!["/tmp/x.png".into()],
        yes: false,
    };
    single_instance::hand_over(&socket, &good).expect("handed over");
    assert_eq!(handoffs.recv_timeout(WAIT).expect("handoff"), good);
    assert!(
        handoffs.try_recv().is_err(),
        "the bad requests never reached the window"
    );
}

#[test]
fn the_running_window_offers_handed_files_on_the_send_sheet() {
    let mut s = room_setup();
    let socket = s.dir.path().join("snapwire.sock");
    let handoffs = first(&socket);
    s.harness.state_mut().accept_handoffs(handoffs);
    let file = s.dir.path().join("dog.png");
    std::fs::write(&file, support::noisy_png(20, 10, 2)).expect("write");
    let socket_for_launch = socket.clone();
    let launch = std::thread::spawn(move || {
        single_instance::hand_over(
            &socket_for_launch,
            &Handoff {
                files: vec![file],
                yes: false,
            },
        )
    });
    step_until(&mut s.harness, "the send sheet with the handed file", |h| {
        has_text(h, "dog.png") && has_text(h, "Send to the room")
    });
    launch
        .join()
        .expect("the launch thread")
        .expect("handed over");
}
