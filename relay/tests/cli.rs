//! The relay's command line: readiness lines on stdout, an identity that survives restarts,
//! usage errors with exit code 2.

use std::{
    ffi::OsStr,
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

/// Starts the relay with `args`, returns its two readiness lines, and stops it.
fn start_and_stop(args: &[&OsStr]) -> (String, String) {
    let mut relay = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(args)
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

/// Starts the relay on an ephemeral port with its data in `data_dir`.
fn start_and_stop_in(data_dir: &Path) -> (String, String) {
    start_and_stop(&[
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--data-dir".as_ref(),
        data_dir.as_os_str(),
    ])
}

#[test]
fn prints_readiness_lines_and_keeps_its_identity_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listening, first) = start_and_stop_in(dir.path());
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
    let (_, second) = start_and_stop_in(dir.path());
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

fn check_config(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(args)
        .arg("check-config")
        .envs(env.iter().copied())
        .output()
        .expect("run relay");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn settings_layer_flags_over_environment_over_file_over_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("relay.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9000\"\ncode_ttl_secs = 120\nidle_timeout_secs = 5\n",
    )
    .expect("write config");
    let file = file.to_str().expect("utf-8");
    let (code, stdout, stderr) = check_config(
        &["--config", file, "--idle-timeout-secs", "30"],
        &[
            ("TETHER_RELAY_CODE_TTL_SECS", "60"),
            ("TETHER_RELAY_IDLE_TIMEOUT_SECS", "20"),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("listen = \"127.0.0.1:9000\""),
        "file: {stdout}"
    );
    assert!(
        stdout.contains("code_ttl_secs = 60"),
        "environment over file: {stdout}"
    );
    assert!(
        stdout.contains("idle_timeout_secs = 30"),
        "flag over environment: {stdout}"
    );
    assert!(stdout.contains("# configuration OK"));
}

#[test]
fn a_misspelt_key_in_the_file_is_a_configuration_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("relay.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nidle_timout_secs = 5\n").expect("write");
    let (code, _, stderr) = check_config(&["--config", file.to_str().expect("utf-8")], &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("unknown field `idle_timout_secs`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn the_relay_runs_from_a_config_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("relay.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n",
            data.to_str().expect("utf-8")
        ),
    )
    .expect("write config");
    let (listening, _) = start_and_stop(&["--config".as_ref(), file.as_os_str()]);
    assert!(
        listening.starts_with("listening on 127.0.0.1:"),
        "{listening}"
    );
    assert!(
        data.join("relay-cert.der").is_file(),
        "the file's data_dir is used"
    );
}
