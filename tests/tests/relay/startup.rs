//! Starting the relay binary: its readiness lines on stdout, an identity that survives
//! restarts, and a configuration file as the only argument.

use std::fs;

use tether_tests::Process;

/// Starts the relay with `args`, returns its first two lines (its readiness lines), and kills
/// it.
fn readiness_lines(args: &[&str]) -> (String, String) {
    let mut relay = Process::spawn("tether-relay", args, &[]);
    let lines = (relay.stdout.next_line(), relay.stdout.next_line());
    relay.kill();
    lines
}

#[test]
fn prints_readiness_lines_and_keeps_its_identity_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8");
    let args = ["--listen", "127.0.0.1:0", "--data-dir", data];
    let (listening, first) = readiness_lines(&args);
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
    let (_, second) = readiness_lines(&args);
    assert_eq!(
        first, second,
        "a restarted relay must present the same certificate"
    );
}

#[test]
fn the_relay_runs_from_a_config_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("relay.toml");
    fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n",
            data.to_str().expect("utf-8")
        ),
    )
    .expect("write config");
    let (listening, _) = readiness_lines(&["--config", file.to_str().expect("utf-8")]);
    assert!(
        listening.starts_with("listening on 127.0.0.1:"),
        "{listening}"
    );
    assert!(
        data.join("relay-cert.der").is_file(),
        "the file's data_dir is used"
    );
}
