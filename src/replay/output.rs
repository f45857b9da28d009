//! Where replayed lines go: stdout (for `| nc -lk 9999`), or TCP clients served
//! directly (`--listen`, like `nc -lk`): every connected client gets the stream;
//! while none is connected the replay waits, so nothing is sent into the void; a
//! client that disconnects does not stop the replay. Clients go at the pace of
//! the slowest, so memory stays bounded; a client that stops reading for longer
//! than the stall timeout is dropped, so it cannot hold the others back.

use bytes::Bytes;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncWriteExt, BufWriter, Stdout};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The default of `replay --stall-timeout`.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Output {
    Stdout(BufWriter<Stdout>),
    Listen(Broadcaster),
}

impl Output {
    pub fn stdout() -> Self {
        Output::Stdout(BufWriter::with_capacity(256 * 1024, tokio::io::stdout()))
    }

    pub async fn write(&mut self, data: Bytes) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(&data).await,
            Output::Listen(b) => {
                b.send(data).await;
                Ok(())
            }
        }
    }

    /// Returns once someone is there to receive: at once for stdout, when the
    /// first client has connected for a listener.
    pub async fn ready(&mut self) {
        if let Output::Listen(b) = self {
            b.wait_for_client().await;
        }
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush().await,
            Output::Listen(_) => Ok(()),
        }
    }

    /// Flushes everything to its destination and closes client connections.
    pub async fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Stdout(mut out) => out.flush().await,
            Output::Listen(b) => {
                b.finish().await;
                Ok(())
            }
        }
    }
}

struct Client {
    addr: SocketAddr,
    tx: mpsc::Sender<Bytes>,
    task: JoinHandle<()>,
}

/// Serves the replay to every client of a listener.
pub struct Broadcaster {
    clients: Vec<Client>,
    arrivals: mpsc::Receiver<Client>,
    accept: JoinHandle<()>,
    finished: Vec<JoinHandle<()>>,
    /// After the last line, keep the connections open (until dropped).
    linger: bool,
}

impl Broadcaster {
    /// Starts accepting clients on `listener`; a client that takes no data for
    /// `stall_timeout` is dropped.
    pub fn new(listener: TcpListener, stall_timeout: Duration) -> Self {
        let (arrive, arrivals) = mpsc::channel(16);
        let accept = tokio::spawn(async move {
            loop {
                let (stream, addr) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                tracing::info!("client {addr} connected");
                let (tx, mut rx) = mpsc::channel::<Bytes>(16);
                let task = tokio::spawn(async move {
                    let mut stream = stream;
                    while let Some(data) = rx.recv().await {
                        match tokio::time::timeout(stall_timeout, stream.write_all(&data)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => {
                                tracing::info!("client {addr} disconnected ({e})");
                                return;
                            }
                            Err(_) => {
                                tracing::warn!(
                                    "client {addr} stopped reading for {stall_timeout:?} (--stall-timeout); dropped"
                                );
                                return;
                            }
                        }
                    }
                    let _ = stream.shutdown().await;
                });
                if arrive.send(Client { addr, tx, task }).await.is_err() {
                    return;
                }
            }
        });
        Broadcaster { clients: Vec::new(), arrivals, accept, finished: Vec::new(), linger: false }
    }

    /// After the last line, keeps the connections open until the broadcaster
    /// is dropped, instead of closing them: for `demo`, whose engine would
    /// otherwise see the server go and try to reconnect while it finishes.
    pub fn lingering(mut self) -> Self {
        self.linger = true;
        self
    }

    /// Takes in clients that connected; waits for one if none is connected.
    async fn wait_for_client(&mut self) {
        while let Ok(c) = self.arrivals.try_recv() {
            self.clients.push(c);
        }
        if self.clients.is_empty() {
            tracing::info!("waiting for a client to connect");
            if let Some(c) = self.arrivals.recv().await {
                self.clients.push(c);
            }
        }
    }

    /// Sends `data` to every client, waiting for one if none is connected.
    async fn send(&mut self, data: Bytes) {
        loop {
            self.wait_for_client().await;
            if self.clients.is_empty() {
                return; // the listener is gone
            }
            let mut delivered = false;
            let mut i = 0;
            while i < self.clients.len() {
                if self.clients[i].tx.send(data.clone()).await.is_ok() {
                    delivered = true;
                    i += 1;
                } else {
                    let gone = self.clients.swap_remove(i);
                    tracing::debug!("dropping client {}", gone.addr);
                    self.finished.push(gone.task);
                }
            }
            if delivered {
                return;
            }
        }
    }

    async fn finish(self) {
        if self.linger {
            // Every line is queued for its client; the senders kept here hold
            // the connections open until the task is dropped.
            return std::future::pending().await;
        }
        self.accept.abort();
        let mut tasks = self.finished;
        for c in self.clients {
            drop(c.tx);
            tasks.push(c.task);
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}
