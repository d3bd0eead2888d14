//! The TCP connection to one Modbus/TCP module, driven by tokio-modbus's client.
//!
//! tokio-modbus's synchronous TCP client sits behind its `tcp-sync` feature, which this crate does
//! not enable; its asynchronous client on a private current-thread runtime gives the same blocking
//! behaviour and, because we hand it the transport, lets us watch the socket. That matters for
//! telling failures apart: the library reports a closed socket, a reset and an undecodable answer
//! all as `io::Error`s, and a frame whose length field promises more than ever arrives simply
//! never completes. Knowing whether bytes came in, and whether the socket itself failed, is what
//! separates "the module is gone" from "something that is not Modbus/TCP answered".

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio_modbus::client::{Client as _, Context};
use tokio_modbus::{ExceptionCode, ProtocolError, Request, Response, Slave};

/// Why an exchange produced no Modbus answer.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection could be made (refused, unreachable, timed out, unresolvable).
    Connect(io::Error),
    /// Connected, but not one byte of an answer within the timeout.
    Silent,
    /// The module closed the connection instead of answering.
    Closed,
    /// The socket failed mid-exchange (reset, broken pipe).
    Broken(io::Error),
    /// Bytes came back, but they are not the Modbus/TCP answer to the request.
    NotModbus(String),
    /// The driver's own runtime could not be created (out of threads or file descriptors).
    Runtime(io::Error),
}

/// What the socket did during one exchange, recorded by [`Watched`].
#[derive(Debug, Default)]
struct Seen {
    bytes: AtomicU64,
    /// End of stream, or an error from the socket itself (not from decoding).
    socket_failed: AtomicBool,
    eof: AtomicBool,
}

/// A TCP stream that records what happens on it; see the module docs for why.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    seen: Arc<Seen>,
}

impl Watched {
    fn note<T>(&self, r: &Poll<io::Result<T>>) {
        if let Poll::Ready(Err(_)) = r {
            self.seen.socket_failed.store(true, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let room = buf.remaining() > 0;
        let r = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let got = buf.filled().len().saturating_sub(before);
            if got == 0 && room {
                this.seen.eof.store(true, Ordering::Relaxed);
                this.seen.socket_failed.store(true, Ordering::Relaxed);
            }
            this.seen.bytes.fetch_add(got as u64, Ordering::Relaxed);
        }
        this.note(&r);
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.note(&r);
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_flush(cx);
        this.note(&r);
        r
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

struct Connection {
    ctx: Context,
    seen: Arc<Seen>,
}

/// One module's connection, opened on first use and kept between requests: modules accept only
/// a handful of TCP connections, and polling every 50 ms must not open one per poll.
pub(super) struct Link {
    address: String,
    unit: u8,
    timeout: Duration,
    runtime: Option<Runtime>,
    conn: Option<Connection>,
}

impl Link {
    pub(super) fn new(address: &str, unit: u8, timeout: Duration) -> Self {
        Link { address: address.to_owned(), unit, timeout, runtime: None, conn: None }
    }

    pub(super) fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Forgets the connection, e.g. after a panic elsewhere left its state in doubt.
    pub(super) fn reset(&mut self) {
        self.conn = None;
    }

    /// One runtime per driver, kept across reconnects: building one costs a thread-local setup
    /// and an epoll instance, too much to repeat after every lost connection.
    fn runtime(runtime: &mut Option<Runtime>) -> Result<&Runtime, Failure> {
        if runtime.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(Failure::Runtime)?;
            *runtime = Some(rt);
        }
        runtime.as_ref().ok_or_else(|| Failure::Runtime(io::Error::other("no runtime")))
    }

    fn connect(&mut self) -> Result<(), Failure> {
        let timeout = self.timeout;
        let addrs: Vec<SocketAddr> = self.address.to_socket_addrs().map_err(Failure::Connect)?.collect();
        let rt = Self::runtime(&mut self.runtime)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the address resolves to nothing");
        for addr in addrs {
            let attempt =
                rt.block_on(async { tokio::time::timeout(timeout, TcpStream::connect(addr)).await });
            let stream = match attempt {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    last = e;
                    continue;
                }
                Err(_) => {
                    last = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting timed out after {} ms", timeout.as_millis()),
                    );
                    continue;
                }
            };
            // Requests are 12 bytes; Nagle would hold one back waiting for an ACK.
            let _ = stream.set_nodelay(true);
            let seen = Arc::new(Seen::default());
            let transport = Watched { stream, seen: seen.clone() };
            let ctx = tokio_modbus::client::tcp::attach_slave(transport, Slave(self.unit));
            self.conn = Some(Connection { ctx, seen });
            return Ok(());
        }
        Err(Failure::Connect(last))
    }

    /// Sends one request and waits for its answer: the response, or the module's exception.
    ///
    /// A connection that has served requests before may have been closed by the module while
    /// idle (many close after a minute or so); when such a connection fails before a single byte
    /// comes back, the request is repeated once on a fresh one. Reads and single-coil writes are
    /// idempotent, so the repeat is harmless.
    pub(super) fn call(
        &mut self,
        request: &Request<'static>,
    ) -> Result<Result<Response, ExceptionCode>, Failure> {
        for attempt in 1..=2 {
            let fresh = self.conn.is_none();
            if fresh {
                self.connect()?;
            }
            let timeout = self.timeout;
            let rt = Self::runtime(&mut self.runtime)?;
            let Some(conn) = self.conn.as_mut() else {
                return Err(Failure::Connect(io::ErrorKind::NotConnected.into()));
            };
            conn.seen.socket_failed.store(false, Ordering::Relaxed);
            conn.seen.eof.store(false, Ordering::Relaxed);
            let before = conn.seen.bytes.load(Ordering::Relaxed);
            let req = request.clone();
            // tokio-modbus is not known to panic on received bytes once its `Reader` helpers
            // (which `debug_assert!` on the answer's length) are bypassed, but a panic here would
            // take down the caller's polling loop for what is only a bad answer.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async { tokio::time::timeout(timeout, conn.ctx.call(req)).await })
            }));
            let got_bytes = conn.seen.bytes.load(Ordering::Relaxed) > before;
            let socket_failed = conn.seen.socket_failed.load(Ordering::Relaxed);
            let eof = conn.seen.eof.load(Ordering::Relaxed);
            let failure = match outcome {
                Ok(Ok(Ok(answer))) => return Ok(answer),
                Err(_) => Failure::NotModbus("an answer the Modbus library could not decode".into()),
                Ok(Err(_elapsed)) if got_bytes => {
                    Failure::NotModbus("an incomplete frame, or one whose length field is wrong".into())
                }
                Ok(Err(_elapsed)) => Failure::Silent,
                Ok(Ok(Err(tokio_modbus::Error::Protocol(p)))) => Failure::NotModbus(describe_mismatch(&p)),
                Ok(Ok(Err(tokio_modbus::Error::Transport(e)))) if socket_failed => {
                    if !fresh && !got_bytes && attempt == 1 {
                        tracing::debug!(address = %self.address, error = %e, "Modbus connection went stale; reconnecting");
                        self.conn = None;
                        continue;
                    }
                    if eof { Failure::Closed } else { Failure::Broken(e) }
                }
                Ok(Ok(Err(tokio_modbus::Error::Transport(e)))) => Failure::NotModbus(e.to_string()),
            };
            // Whatever the failure, the stream's position in the conversation is unknown (a late
            // answer could be taken for the next request's), so the next request starts afresh.
            self.conn = None;
            return Err(failure);
        }
        Err(Failure::Closed)
    }
}

impl Drop for Link {
    /// Drivers live in `Arc`s that async code may drop last (a venue-file reload rebuilds the
    /// fleet); dropping a runtime normally waits for its blocking pool, which tokio forbids, with a
    /// panic, on an async worker. Nothing runs on this runtime between requests, so there is
    /// nothing to wait for. The connection goes first, while its reactor still exists.
    fn drop(&mut self) {
        self.conn = None;
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn describe_mismatch(p: &ProtocolError) -> String {
    match p {
        ProtocolError::HeaderMismatch { message, .. } => {
            format!("the answer's transaction id or unit id does not match the request: {message}")
        }
        ProtocolError::FunctionCodeMismatch { request, .. } => {
            format!("the answer is for another function than the request's {request}")
        }
    }
}
