//! The relay's command line: readiness lines on stdout, an identity that survives restarts,
//! usage errors with exit code 2.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

/// Starts the relay on an ephemeral port, returns its two readiness lines, and stops it.
fn start_and_stop(data_dir: &std::path::Path) -> (String, String) {
    let mut relay = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn relay");
    let mut lines = BufReader::new(relay.stdout.take().expect("stdout")).lines();
    let listening = lines.next().expect("a line").expect("utf-8");
    let fingerprint = lines.next().expect("a line").expect("utf-8");
    relay.kill().expect("kill");
    relay.wait().expect("wait");
    (listening, fingerprint)
}

#[test]
fn prints_readiness_lines_and_keeps_its_identity_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listening, first) = start_and_stop(dir.path());
    assert!(
        listening.starts_with("listening on 127.0.0.1:"),
        "{listening}"
    );
    assert!(
        !listening.ends_with(":0"),
        "the real port is printed: {listening}"
    );
    assert!(
        first.starts_with("fingerprint: sha256:") && first.len() == 13 + 7 + 64,
        "{first}"
    );
    let (_, second) = start_and_stop(dir.path());
    assert_eq!(
        first, second,
        "a restarted relay must present the same certificate"
    );
}

#[test]
fn a_bad_listen_address_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(["--listen", "not-an-address"])
        .output()
        .expect("run relay");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}
