//! A TCP forwarder in a process of its own, put between `ssh` and sshd so that ssh crosses
//! one more process each way, as Tether's shells cross the relay's data port. It is the
//! smallest such hop: a blocked thread per direction, woken by each segment, no user-space
//! protocol. ssh through it measures what the relay's topology costs any protocol here.
//!
//! The bench starts it by running its own executable with [`FORWARD_TO`] set.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    thread,
};

use anyhow::{bail, Context};

/// The environment variable that makes the bench's executable a forwarder to its address.
pub const FORWARD_TO: &str = "SHELL_BENCH_FORWARD_TO";
/// How much of a stream one read takes, as the bench reads output.
const BUFFER: usize = 256 * 1024;

/// The forwarder process, killed when dropped.
pub struct Forwarder {
    child: Child,
    port: u16,
}

impl Forwarder {
    /// Starts a forwarder from a free port on 127.0.0.1 to `target`.
    pub fn start(target: SocketAddr) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe().context("the bench's executable")?)
            .env(FORWARD_TO, target.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("start the forwarder")?;
        let stdout = child.stdout.take().context("the forwarder's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("read the forwarder's port")?;
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            bail!("the forwarder did not say its port (it said {line:?})");
        };
        Ok(Self { child, port })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The forwarder's own main: listens on a free port of 127.0.0.1, prints it, and forwards
/// every connection to `target` until killed.
pub fn serve(target: &str) -> anyhow::Result<()> {
    let target: SocketAddr = target
        .parse()
        .with_context(|| format!("{FORWARD_TO}={target}: not an address"))?;
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    println!("{}", listener.local_addr()?.port());
    io::stdout().flush()?;
    for client in listener.incoming() {
        let client = client.context("accept")?;
        let server = TcpStream::connect(target).with_context(|| format!("connect to {target}"))?;
        // As ssh does on interactive sessions: a keystroke goes out at once.
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        let (client_in, server_in) = (client.try_clone()?, server.try_clone()?);
        thread::spawn(move || pump(client_in, server));
        thread::spawn(move || pump(server_in, client));
    }
    Ok(())
}

/// Copies `from` to `to` until `from` ends, then ends `to`'s sending side.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0; BUFFER];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
