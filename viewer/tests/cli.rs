//! The viewer's command line.

use std::process::Command;

#[test]
fn snapshot_requires_a_frame_count() {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-viewer"))
        .args([
            "join",
            "123-456-789-012",
            "--relay",
            "127.0.0.1:1",
            "--snapshot",
            "x.png",
        ])
        .output()
        .expect("run viewer");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frames"));
}
