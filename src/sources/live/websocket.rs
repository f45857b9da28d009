//! A WebSocket client (RFC 6455) for reading a feed, in bounded memory: a
//! message over the bound is read and discarded as it arrives (never held),
//! reported once as [`Message::Oversized`], and the connection goes on with
//! the next message. (A client library that ends the connection instead
//! would make a feed that replays from a cursor send the same message again
//! on every reconnection, for ever.)
//!
//! Only what a feed needs: the client's handshake (with the URL's
//! `user:password@` as HTTP Basic), frames from the server (unmasked,
//! fragmented or not), pings answered, a close answered and reported. No
//! extensions are asked for, so none may be used.

use super::http_stream::{self, Io, Target};
use super::read::{Next, Pieces};
use crate::secret::SecretUrl;
use bytes::BytesMut;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The most a server's handshake answer may take.
const MAX_HEAD: usize = 16 << 10;

/// A message from the server.
#[derive(Debug, PartialEq)]
pub enum Message {
    Text(Text),
    /// A text message that is not UTF-8.
    Malformed,
    Binary,
    /// A message over the bound, discarded.
    Oversized,
}

/// A text message: bytes checked to be UTF-8 when it was made (taken from
/// the read buffer without a copy when it came in one frame).
#[derive(Debug, PartialEq)]
pub struct Text(bytes::Bytes);

impl Text {
    /// `bytes` as text, if they are UTF-8.
    fn new(bytes: bytes::Bytes) -> Option<Text> {
        simdutf8::basic::from_utf8(&bytes).is_ok().then_some(Text(bytes))
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes were checked to be UTF-8 in `Text::new`, the
        // only way one is made, and `Bytes` never changes them.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// An open WebSocket. Reading is cancel safe (the read loop gathers what
/// has arrived with `now_or_never`): every state lives here, and the only
/// waits are a read into [`Self::buf`] and a write of [`Self::out`].
pub struct WebSocket {
    io: Box<dyn Io>,
    /// Bytes received and not yet taken.
    buf: BytesMut,
    /// Frames to send (pongs, the close's answer).
    out: Vec<u8>,
    max: usize,
    /// The data message being read: its kind (text?) and bytes so far.
    message: Option<(bool, Vec<u8>)>,
    /// The message went over the bound: its bytes are dropped as they come.
    oversized: bool,
    /// The frame being read: its payload bytes still to come, and whether
    /// it ends its message.
    frame: Option<(u64, bool)>,
    masks: crate::rng::Rng,
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`); messages over `max`
/// bytes will be discarded. An error says why, with the URL masked.
pub async fn connect(url: &SecretUrl, max: usize) -> Result<WebSocket, String> {
    let target = Target::of(url, ("ws", "wss"))?;
    let mut io = BufReader::new(target.open().await?);
    let key = generate_key();
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: {}\r\n",
        target.path,
        target.authority,
        http_stream::USER_AGENT
    );
    if let Some(auth) = http_stream::authorization(url, None) {
        request.push_str(&format!("Authorization: {}\r\n", auth.expose()));
    }
    request.push_str("\r\n");
    io.write_all(request.as_bytes()).await.map_err(|e| format!("sending the handshake: {e}"))?;
    io.flush().await.map_err(|e| format!("sending the handshake: {e}"))?;
    let head = read_head(&mut io).await?;
    check_answer(&head, &key)?;
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64);
    // What the server sent after its head is the start of the frames.
    let buf = BytesMut::from(io.buffer());
    Ok(WebSocket {
        io: io.into_inner(),
        buf,
        out: Vec::new(),
        max,
        message: None,
        oversized: false,
        frame: None,
        masks: crate::rng::Rng::new(seed),
    })
}

/// The server's answer head, up to its blank line.
async fn read_head(io: &mut BufReader<Box<dyn Io>>) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    let mut size = 0;
    loop {
        let mut line = Vec::new();
        let n = (&mut *io)
            .take((MAX_HEAD - size) as u64 + 1)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("reading the handshake: {e}"))?;
        size += n;
        if n == 0 || size > MAX_HEAD {
            return Err("the server's handshake answer ended early or is too long".into());
        }
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        if line.is_empty() {
            return Ok(lines);
        }
        lines.push(line);
    }
}

/// Checks the answer upgrades the connection for this key.
fn check_answer(head: &[String], key: &str) -> Result<(), String> {
    let status = head.first().map(String::as_str).unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code != "101" {
        let shown: String = status.chars().filter(|c| !c.is_control()).take(100).collect();
        return Err(format!("the server did not upgrade to a WebSocket ({shown})"));
    }
    let header = |name: &str| {
        head[1..].iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    if header("sec-websocket-accept").as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return Err("the server's WebSocket handshake has a wrong Sec-WebSocket-Accept".into());
    }
    if header("sec-websocket-extensions").is_some_and(|e| !e.is_empty()) {
        return Err("the server uses a WebSocket extension that was not asked for".into());
    }
    Ok(())
}

/// What the bytes received so far gave.
enum Parsed {
    /// Nothing complete yet: more bytes are needed.
    More,
    Message(Message),
    /// The server closed, with what it said.
    Closed(String),
}

impl WebSocket {
    /// The next message; `Err`: the connection ended, and why.
    pub async fn next(&mut self) -> Result<Message, String> {
        loop {
            while !self.out.is_empty() {
                let n = self.io.write(&self.out).await.map_err(|e| failed(&e))?;
                self.out.drain(..n);
            }
            match self.parse()? {
                Parsed::Message(m) => return Ok(m),
                Parsed::Closed(why) => {
                    let _ = self.io.write_all(&self.out).await;
                    return Err(why);
                }
                Parsed::More => {}
            }
            self.buf.reserve(64 << 10);
            let n = self.io.read_buf(&mut self.buf).await.map_err(|e| failed(&e))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
        }
    }

    /// Takes what it can from the bytes received.
    fn parse(&mut self) -> Result<Parsed, String> {
        loop {
            if let Some((left, fin)) = self.frame {
                let n = left.min(self.buf.len() as u64) as usize;
                let bytes = self.buf.split_to(n);
                if !self.oversized {
                    self.message.as_mut().expect("a message is being read").1.extend_from_slice(&bytes);
                }
                if n as u64 == left {
                    self.frame = None;
                    if fin {
                        return Ok(Parsed::Message(self.finish()));
                    }
                    continue;
                }
                self.frame = Some((left - n as u64, fin));
                return Ok(Parsed::More);
            }
            let Some((fin, opcode, len, head)) = frame_head(&self.buf)? else { return Ok(Parsed::More) };
            match opcode {
                0x8..=0xA => {
                    if !fin || len > 125 {
                        return Err("a control frame fragmented or over 125 bytes".into());
                    }
                    if self.buf.len() < head + len as usize {
                        return Ok(Parsed::More);
                    }
                    let payload = self.buf.split_to(head + len as usize).split_off(head);
                    match opcode {
                        0x8 => return Ok(Parsed::Closed(self.closed(&payload))),
                        0x9 => self.queue(0xA, &payload),
                        _ => {} // a pong
                    }
                }
                // A whole text message in one frame, all arrived: taken
                // from the buffer as it is (the common case).
                0x1 if fin
                    && self.message.is_none()
                    && len <= self.max as u64
                    && self.buf.len() as u64 >= head as u64 + len =>
                {
                    let mut frame = self.buf.split_to(head + len as usize);
                    let payload = frame.split_off(head).freeze();
                    return Ok(Parsed::Message(Text::new(payload).map_or(Message::Malformed, Message::Text)));
                }
                0x0..=0x2 => {
                    let _ = self.buf.split_to(head);
                    self.start_frame(opcode, len, fin)?;
                }
                other => return Err(format!("a frame of unknown opcode {other}")),
            }
        }
    }

    /// A data frame begins (its head taken).
    fn start_frame(&mut self, opcode: u8, len: u64, fin: bool) -> Result<(), String> {
        match (opcode, &self.message) {
            (0x0, None) => return Err("a continuation frame without a message".into()),
            (0x1 | 0x2, Some(_)) => return Err("a new message before the last one ended".into()),
            (0x1 | 0x2, None) => self.message = Some((opcode == 0x1, Vec::new())),
            _ => {}
        }
        let held = self.message.as_ref().map_or(0, |(_, b)| b.len() as u64);
        if !self.oversized && held.saturating_add(len) > self.max as u64 {
            // Dropped as it comes: memory stays at the read buffer.
            self.oversized = true;
            self.message.as_mut().expect("a message is being read").1 = Vec::new();
        }
        self.frame = Some((len, fin));
        Ok(())
    }

    /// The message whose last frame was taken.
    fn finish(&mut self) -> Message {
        let (text, bytes) = self.message.take().expect("a message is being read");
        if std::mem::take(&mut self.oversized) {
            return Message::Oversized;
        }
        match (text, text.then(|| Text::new(bytes.into())).flatten()) {
            (false, _) => Message::Binary,
            (true, Some(t)) => Message::Text(t),
            (true, None) => Message::Malformed,
        }
    }

    /// The server closed: the close is answered; returns what it said.
    fn closed(&mut self, payload: &[u8]) -> String {
        self.queue(0x8, payload.get(..2).unwrap_or_default());
        match payload {
            [a, b, reason @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                let reason: String =
                    String::from_utf8_lossy(reason).chars().filter(|c| !c.is_control()).collect();
                format!("the server closed the connection ({code} {reason})")
            }
            _ => "the server closed the connection".into(),
        }
    }

    /// Queues a frame to send (a pong or a close), masked as a client must.
    fn queue(&mut self, opcode: u8, payload: &[u8]) {
        let mask = (self.masks.next_u64() as u32).to_be_bytes();
        self.out.extend_from_slice(&[0x80 | opcode, 0x80 | payload.len() as u8]);
        self.out.extend_from_slice(&mask);
        self.out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }
}

/// A frame's head at the start of `buf`: (fin, opcode, payload length, head
/// length), or None while incomplete.
fn frame_head(buf: &[u8]) -> Result<Option<(bool, u8, u64, usize)>, String> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err("a frame uses an extension that was not asked for".into());
    }
    if b1 & 0x80 != 0 {
        return Err("a frame from the server is masked".into());
    }
    let (len, head) = match b1 & 0x7F {
        126 if buf.len() >= 4 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() >= 10 => (u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")), 10),
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    Ok(Some((b0 & 0x80 != 0, b0 & 0x0F, len, head)))
}

fn failed(e: &std::io::Error) -> String {
    format!("the connection failed: {e}")
}

impl Pieces for WebSocket {
    type Piece = Message;

    async fn next(&mut self) -> Next<Message> {
        match WebSocket::next(self).await {
            Ok(m) => Next::Piece(m),
            Err(why) => Next::Ended(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Sent;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

    /// A server that sends `frames` on its one connection, then reads
    /// until the client goes; returns its address and what it received.
    async fn server(frames: Vec<Sent>) -> (String, tokio::task::JoinHandle<Vec<Sent>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .max_frame_size(None)
                .max_message_size(None);
            let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await.unwrap();
            for f in frames {
                ws.send(f).await.unwrap();
            }
            let mut got = Vec::new();
            while let Some(Ok(m)) = ws.next().await {
                got.push(m);
            }
            got
        });
        (addr, task)
    }

    fn fragment(opcode: OpCode, fin: bool, payload: &[u8]) -> Sent {
        let header = FrameHeader { is_final: fin, opcode, ..FrameHeader::default() };
        Sent::Frame(Frame::from_payload(header, payload.to_vec().into()))
    }

    #[tokio::test]
    async fn messages_whole_or_in_fragments_pings_answered_and_an_oversized_one_skipped() {
        let big = "x".repeat(5000);
        let (addr, server) = server(vec![
            Sent::text("one"),
            fragment(OpCode::Data(Data::Text), false, "tw".as_bytes()),
            Sent::Ping(b"hi".to_vec().into()),
            fragment(OpCode::Data(Data::Continue), true, "o é".as_bytes()),
            Sent::text(big.clone()),
            fragment(OpCode::Data(Data::Text), false, &big.as_bytes()[..900]),
            fragment(OpCode::Data(Data::Continue), true, &big.as_bytes()[..900]),
            Sent::Binary(vec![1, 2].into()),
            fragment(OpCode::Data(Data::Text), true, &[0xFF, 0xFE]),
            Sent::text("after"),
            Sent::Close(None),
        ])
        .await;
        let mut ws = connect(&SecretUrl::new(&format!("ws://{addr}/")), 1000).await.unwrap();
        let mut got = Vec::new();
        let ended = loop {
            match ws.next().await {
                Ok(m) => got.push(m),
                Err(why) => break why,
            }
        };
        assert_eq!(
            got,
            [
                Message::Text("one".into()),
                Message::Text("two é".into()),
                Message::Oversized,
                Message::Oversized,
                Message::Binary,
                Message::Malformed,
                Message::Text("after".into()),
            ]
        );
        assert!(ended.contains("closed"), "{ended}");
        drop(ws);
        let answered = server.await.unwrap();
        assert!(answered.contains(&Sent::Pong(b"hi".to_vec().into())), "{answered:?}");
    }

    #[tokio::test]
    async fn a_server_that_does_not_upgrade_is_an_error_that_says_so() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        });
        let url = SecretUrl::new(&format!("ws://me:pw1234@{addr}/?token=sekrit"));
        let err = connect(&url, 100).await.err().unwrap();
        assert!(err.contains("did not upgrade") && err.contains("404"), "{err}");
        assert!(!err.contains("sekrit") && !err.contains("pw1234"), "{err}");
    }
}
