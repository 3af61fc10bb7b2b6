//! The `snapwire-relay` command line: bad input is a one-line error and exit code 2.

mod common;

use std::process::Command;

use common::TempDir;

fn relay(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snapwire-relay"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("run the relay")
}

#[test]
fn a_bad_flag_exits_2() {
    for args in [
        &["--bogus"][..],
        &["--listen", "not-an-address"],
        &["--max-image-mb", "0"],
        &["--memory", "--data-dir", "/tmp/x"],
    ] {
        let output = relay(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty());
    }
}

#[test]
fn an_unusable_data_dir_is_one_line_and_exit_2() {
    let dir = TempDir::new("cli");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let data = file.join("data");
    let output = relay(&[
        "--listen",
        "127.0.0.1:0",
        "--no-mdns",
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("data directory"), "{stderr}");
}

#[test]
fn a_port_in_use_is_one_line_and_exit_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = relay(&["--listen", &addr, "--no-mdns", "--memory"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

#[test]
fn help_documents_every_flag_and_its_environment_variable() {
    let output = relay(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--memory",
        "--token",
        "--max-image-mb",
        "--retain-items",
        "--retain-mb",
        "--name",
        "--no-mdns",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(help.contains("SNAPWIRE_LISTEN"));
}
