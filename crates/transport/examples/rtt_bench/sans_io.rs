//! QUIC with quinn's sans-IO core (`quinn-proto`) driven by one blocking loop per process, with
//! no async runtime: a packet is received, handled and answered on the thread that waited for
//! it, as ssh handles its socket. It shows what the protocol costs apart from quinn's tokio
//! driver.

use std::{
    io,
    net::{SocketAddr, UdpSocket},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use bytes::BytesMut;
use quinn_proto::{
    ClientConfig, Connection, ConnectionHandle, DatagramEvent, Dir, Endpoint, EndpointConfig,
    Event, ServerConfig, StreamEvent, StreamId,
};

/// The longest a blocked receive waits before the loop looks at the connection's timers again
/// (a timer may be set while no packet is due).
const MAX_WAIT: Duration = Duration::from_millis(50);

/// One endpoint with its single connection on a blocking socket.
pub struct Driver {
    socket: UdpSocket,
    endpoint: Endpoint,
    connection: Option<(ConnectionHandle, Connection)>,
    send_buf: Vec<u8>,
    recv_buf: Vec<u8>,
}

impl Driver {
    fn new(socket: UdpSocket, server: Option<Arc<ServerConfig>>) -> Self {
        Self {
            socket,
            endpoint: Endpoint::new(Arc::new(EndpointConfig::default()), server, true, None),
            connection: None,
            send_buf: Vec::with_capacity(64 * 1024),
            recv_buf: vec![0; 64 * 1024],
        }
    }

    /// Connects to `server` and opens one bidirectional stream.
    pub fn connect(
        socket: UdpSocket,
        config: ClientConfig,
        server: SocketAddr,
        server_name: &str,
    ) -> anyhow::Result<(Self, StreamId)> {
        let mut driver = Self::new(socket, None);
        let connection = driver
            .endpoint
            .connect(Instant::now(), config, server, server_name)?;
        driver.connection = Some(connection);
        driver.flush()?;
        while !driver.take_event(|event| matches!(event, Event::Connected))? {
            driver.receive()?;
        }
        let stream = driver
            .connection_mut()?
            .streams()
            .open(Dir::Bi)
            .context("no stream may be opened")?;
        Ok((driver, stream))
    }

    /// Serves one client on `socket`: echoes what arrives on the client's first stream until
    /// the connection is lost.
    pub fn serve_echo(socket: UdpSocket, config: Arc<ServerConfig>) -> anyhow::Result<()> {
        let mut driver = Self::new(socket, Some(config));
        loop {
            driver.receive()?;
            let Some((_, connection)) = driver.connection.as_mut() else {
                continue;
            };
            while let Some(event) = connection.poll() {
                match event {
                    Event::ConnectionLost { .. } => return Ok(()),
                    Event::Stream(StreamEvent::Opened { dir: Dir::Bi }) => {
                        connection.streams().accept(Dir::Bi);
                    }
                    _ => {}
                }
            }
            // One stream, opened by the client: its first.
            let stream = StreamId::new(quinn_proto::Side::Client, Dir::Bi, 0);
            let mut received = Vec::new();
            if let Ok(mut chunks) = connection.recv_stream(stream).read(true) {
                while let Ok(Some(chunk)) = chunks.next(usize::MAX) {
                    received.extend_from_slice(&chunk.bytes);
                }
                let _ = chunks.finalize();
            }
            if !received.is_empty() {
                connection.send_stream(stream).write(&received)?;
            }
            driver.flush()?;
        }
    }

    /// Writes `byte` on `stream` and returns once it has come back.
    pub fn round_trip(&mut self, stream: StreamId, byte: u8) -> anyhow::Result<u8> {
        self.handle_timers()?;
        self.connection_mut()?.send_stream(stream).write(&[byte])?;
        self.flush()?;
        loop {
            self.receive()?;
            let connection = self.connection_mut()?;
            let mut back = None;
            if let Ok(mut chunks) = connection.recv_stream(stream).read(true) {
                if let Ok(Some(chunk)) = chunks.next(1) {
                    back = chunk.bytes.first().copied();
                }
                let _ = chunks.finalize();
            }
            self.flush()?;
            if let Some(back) = back {
                // Nothing waits on the events; drained so that they do not pile up.
                self.take_event(|_| false)?;
                return Ok(back);
            }
        }
    }

    fn connection_mut(&mut self) -> anyhow::Result<&mut Connection> {
        match self.connection.as_mut() {
            Some((_, connection)) => Ok(connection),
            None => bail!("not connected"),
        }
    }

    /// Polls the connection's events until `wanted` matches one; false if none did.
    fn take_event(&mut self, wanted: impl Fn(&Event) -> bool) -> anyhow::Result<bool> {
        let connection = self.connection_mut()?;
        while let Some(event) = connection.poll() {
            if let Event::ConnectionLost { reason } = event {
                bail!("connection lost: {reason}");
            }
            if wanted(&event) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Waits for one datagram (or the next timer) and hands it to the endpoint.
    fn receive(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let timeout = self
            .connection
            .as_mut()
            .and_then(|(_, connection)| connection.poll_timeout())
            .map_or(MAX_WAIT, |at| {
                at.saturating_duration_since(now).min(MAX_WAIT)
            });
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_micros(1))))?;
        let (n, from) = match self.socket.recv_from(&mut self.recv_buf) {
            Ok(received) => received,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return self.handle_timers();
            }
            Err(e) => return Err(e.into()),
        };
        let data = BytesMut::from(&self.recv_buf[..n]);
        self.send_buf.clear();
        match self
            .endpoint
            .handle(Instant::now(), from, None, None, data, &mut self.send_buf)
        {
            Some(DatagramEvent::ConnectionEvent(_, event)) => {
                if let Some((_, connection)) = self.connection.as_mut() {
                    connection.handle_event(event);
                }
            }
            Some(DatagramEvent::NewConnection(incoming)) => {
                if self.connection.is_some() {
                    self.endpoint.ignore(incoming);
                } else {
                    let accepted =
                        self.endpoint
                            .accept(incoming, Instant::now(), &mut self.send_buf, None);
                    match accepted {
                        Ok(connection) => self.connection = Some(connection),
                        Err(e) => bail!("cannot accept: {}", e.cause),
                    }
                }
            }
            Some(DatagramEvent::Response(transmit)) => {
                self.socket
                    .send_to(&self.send_buf[..transmit.size], transmit.destination)?;
            }
            None => {}
        }
        self.handle_timers()
    }

    fn handle_timers(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        if let Some((_, connection)) = self.connection.as_mut() {
            if connection.poll_timeout().is_some_and(|at| at <= now) {
                connection.handle_timeout(now);
            }
        }
        self.flush()
    }

    /// Sends what the connection has to send and passes its events to the endpoint.
    fn flush(&mut self) -> anyhow::Result<()> {
        let Some((handle, connection)) = self.connection.as_mut() else {
            return Ok(());
        };
        loop {
            self.send_buf.clear();
            let Some(transmit) = connection.poll_transmit(Instant::now(), 1, &mut self.send_buf)
            else {
                break;
            };
            self.socket
                .send_to(&self.send_buf[..transmit.size], transmit.destination)?;
        }
        while let Some(event) = connection.poll_endpoint_events() {
            if let Some(event) = self.endpoint.handle_event(*handle, event) {
                connection.handle_event(event);
            }
        }
        Ok(())
    }
}
