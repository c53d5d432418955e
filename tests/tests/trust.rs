//! Relay pinning: trust on first use, then a hard failure when the relay's identity changes.

use std::fs;

use tether_tests::Relay;

#[test]
fn first_use_records_the_relay_and_a_changed_identity_is_refused() {
    let relay = Relay::start(&[]);
    let known = relay.path("known_relays");

    let (_agent, code) = relay.agent(1, "320x200");
    let mut first = relay.viewer_trusting(&code, &["--frames", "1"], &known);
    assert!(first.wait().success(), "{}", first.stderr.text());
    assert!(
        first.stderr.text().contains("first use"),
        "{}",
        first.stderr.text()
    );
    let recorded = fs::read_to_string(&known).expect("known_relays written");
    assert_eq!(
        recorded.trim(),
        format!("{} {}", relay.addr, relay.fingerprint)
    );

    // The same relay again: pinned now, no first-use warning.
    let (_agent, code) = relay.agent(1, "320x200");
    let mut second = relay.viewer_trusting(&code, &["--frames", "1"], &known);
    assert!(second.wait().success(), "{}", second.stderr.text());
    assert!(!second.stderr.text().contains("first use"));

    // Someone else answers at that address: the pinned fingerprint no longer matches.
    let impostor = format!("{} sha256:{}\n", relay.addr, "ab".repeat(32));
    fs::write(&known, impostor).unwrap();
    let (_agent, code) = relay.agent(1, "320x200");
    let mut third = relay.viewer_trusting(&code, &["--frames", "1"], &known);
    assert_eq!(third.wait().code(), Some(5), "{}", third.stderr.text());
    assert!(
        third.stderr.text().contains("RELAY IDENTITY CHANGED"),
        "{}",
        third.stderr.text()
    );
}

#[test]
fn a_wrong_fingerprint_flag_is_refused() {
    let relay = Relay::start(&[]);
    let (_agent, code) = relay.agent(1, "320x200");
    let wrong = format!("sha256:{}", "00".repeat(32));
    let mut viewer = relay.viewer_trusting(
        &code,
        &["--frames", "1", "--relay-fingerprint", &wrong],
        &relay.path("known_relays"),
    );
    assert_eq!(viewer.wait().code(), Some(5), "{}", viewer.stderr.text());
    assert!(viewer.stderr.text().contains("RELAY IDENTITY CHANGED"));
}
