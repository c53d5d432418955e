//! The agent's command line: usage errors exit 2, runtime failures exit 1 with a message.

use std::process::Command;

fn agent(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-agent"))
        .args(args)
        .env_remove("TETHER_RELAY")
        .output()
        .expect("run agent");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_relay_is_required() {
    let (code, stderr) = agent(&[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--relay"), "{stderr}");
}

#[test]
fn a_nonsense_demo_size_is_a_usage_error() {
    let (code, stderr) = agent(&["--relay", "127.0.0.1:1", "--demo-size", "0x10"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("positive"), "{stderr}");
}

#[test]
fn an_unresolvable_relay_fails_with_a_message() {
    let (code, stderr) = agent(&["--relay", "no-such-host.invalid:4433"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot resolve relay address"), "{stderr}");
}
