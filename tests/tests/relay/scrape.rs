//! Reading the relay's metrics endpoint over plain HTTP/1.1, as Prometheus does.

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::TcpStream,
    thread,
    time::{Duration, Instant},
};

use tether_tests::TIMEOUT;

/// An HTTP/1.1 GET: the status code, the headers and the body.
pub fn get(addr: &str, path: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// The samples of a text exposition, by `name{labels}`.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse().unwrap()))
        .collect()
}

/// Scrapes `/metrics` at `addr`.
pub fn scrape(addr: &str) -> HashMap<String, f64> {
    let (status, head, body) = get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(head.contains("application/openmetrics-text"), "{head}");
    samples(&body)
}

/// Scrapes until `settled` holds (connection tasks finish a moment after the clients see the
/// end), at most a few seconds; returns the last scrape.
pub fn scrape_until(
    addr: &str,
    settled: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let samples = scrape(addr);
        if settled(&samples) || Instant::now() > deadline {
            return samples;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// One metric's current value.
pub fn metric(addr: &str, name: &str) -> f64 {
    *scrape(addr)
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing at {addr}"))
}
