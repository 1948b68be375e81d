//! A small client for tor's control protocol (control-spec.txt): just what
//! the `ctor` transport needs, with every reply bounded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::transport::MAX_STREAMS_PER_CIRCUIT;

/// Longest reply line accepted.
const MAX_LINE: usize = 16 * 1024;
/// Most lines in one reply.
const MAX_LINES: usize = 1024;

/// Why a control-port operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The connection failed.
    #[error("control port: {0}")]
    Io(#[from] std::io::Error),
    /// Tor answered with an error status.
    #[error("tor said {code}: {message}")]
    Refused {
        /// Status code.
        code: u16,
        /// Its message.
        message: String,
    },
    /// Tor's answer did not follow the protocol (or was too large).
    #[error("unexpected control reply: {0}")]
    Protocol(String),
    /// No way to authenticate that we support.
    #[error("cannot authenticate: {0}")]
    Auth(String),
}

/// One reply: the status code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code of the last line.
    pub code: u16,
    /// Text of every line (data blocks folded into their line).
    pub lines: Vec<String>,
}

/// An open control connection.
pub struct Control {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
}

impl Control {
    /// Connects to the control port at `addr`.
    pub async fn connect(addr: SocketAddr) -> Result<Control, ControlError> {
        let (r, w) = TcpStream::connect(addr).await?.into_split();
        Ok(Control {
            read: BufReader::new(r),
            write: w,
        })
    }

    async fn read_line(&mut self) -> Result<String, ControlError> {
        let mut buf = Vec::new();
        let n = (&mut self.read)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .await?;
        if n == 0 {
            return Err(ControlError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if n > MAX_LINE || !buf.ends_with(b"\n") {
            return Err(ControlError::Protocol("line too long".into()));
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        String::from_utf8(buf).map_err(|_| ControlError::Protocol("not UTF-8".into()))
    }

    /// Sends one command line and reads its reply; an error status is an error.
    pub async fn command(&mut self, line: &str) -> Result<Reply, ControlError> {
        if line.contains(['\r', '\n']) {
            return Err(ControlError::Protocol(
                "command contains a line break".into(),
            ));
        }
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        let reply = self.read_reply().await?;
        if !(200..300).contains(&reply.code) {
            return Err(ControlError::Refused {
                code: reply.code,
                message: reply.lines.join(" "),
            });
        }
        Ok(reply)
    }

    async fn read_reply(&mut self) -> Result<Reply, ControlError> {
        let mut lines = Vec::new();
        loop {
            if lines.len() >= MAX_LINES {
                return Err(ControlError::Protocol("reply too long".into()));
            }
            let line = self.read_line().await?;
            let (code, sep, text) = split_status(&line)?;
            match sep {
                ' ' => {
                    lines.push(text.to_string());
                    return Ok(Reply { code, lines });
                }
                '-' => lines.push(text.to_string()),
                '+' => {
                    // A data block: lines up to a lone ".".
                    let mut data = text.to_string();
                    loop {
                        let l = self.read_line().await?;
                        if l == "." {
                            break;
                        }
                        if data.len() + l.len() > MAX_LINE * 4 {
                            return Err(ControlError::Protocol("data block too long".into()));
                        }
                        data.push('\n');
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                    }
                    lines.push(data);
                }
                _ => return Err(ControlError::Protocol(format!("bad separator in {line:?}"))),
            }
        }
    }

    /// Waits until tor closes the connection (it sends nothing unasked,
    /// since no events are subscribed).
    pub async fn closed(&mut self) {
        let mut buf = [0u8; 256];
        loop {
            match self.read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// Authenticates with SAFECOOKIE (or COOKIE, or none) as tor offers.
    /// `cookie` overrides the cookie file tor names.
    pub async fn authenticate(&mut self, cookie: Option<&Path>) -> Result<(), ControlError> {
        let info = self.command("PROTOCOLINFO 1").await?;
        let auth = info
            .lines
            .iter()
            .find_map(|l| l.strip_prefix("AUTH "))
            .ok_or_else(|| ControlError::Protocol("PROTOCOLINFO without AUTH".into()))?;
        let methods: Vec<&str> = value_of(auth, "METHODS").unwrap_or("").split(',').collect();
        if methods.contains(&"NULL") {
            self.command("AUTHENTICATE").await?;
            return Ok(());
        }
        let file: PathBuf = match (cookie, quoted_value_of(auth, "COOKIEFILE")) {
            (Some(c), _) => c.to_path_buf(),
            (None, Some(f)) => PathBuf::from(f),
            (None, None) => {
                return Err(ControlError::Auth(format!(
                    "tor offers {methods:?} and names no cookie file"
                )));
            }
        };
        let cookie = std::fs::read(&file).map_err(|e| {
            ControlError::Auth(format!("reading the cookie {}: {e}", file.display()))
        })?;
        if methods.contains(&"SAFECOOKIE") {
            self.safecookie(&cookie).await
        } else if methods.contains(&"COOKIE") {
            self.command(&format!("AUTHENTICATE {}", hex(&cookie)))
                .await
                .map(drop)
        } else {
            Err(ControlError::Auth(format!(
                "tor offers only {methods:?} (configure CookieAuthentication 1)"
            )))
        }
    }

    async fn safecookie(&mut self, cookie: &[u8]) -> Result<(), ControlError> {
        let mut client_nonce = [0u8; 32];
        getrandom::fill(&mut client_nonce).map_err(|e| ControlError::Auth(e.to_string()))?;
        let r = self
            .command(&format!("AUTHCHALLENGE SAFECOOKIE {}", hex(&client_nonce)))
            .await?;
        let line = r.lines.first().cloned().unwrap_or_default();
        let server_hash = value_of(&line, "SERVERHASH").and_then(unhex);
        let server_nonce = value_of(&line, "SERVERNONCE").and_then(unhex);
        let (Some(server_hash), Some(server_nonce)) = (server_hash, server_nonce) else {
            return Err(ControlError::Protocol(format!(
                "bad AUTHCHALLENGE reply {line:?}"
            )));
        };
        let message: Vec<u8> = [cookie, &client_nonce, &server_nonce].concat();
        let mac = |key: &[u8]| -> Result<Vec<u8>, ControlError> {
            let mut m = Hmac::<Sha256>::new_from_slice(key)
                .map_err(|e| ControlError::Auth(e.to_string()))?;
            m.update(&message);
            Ok(m.finalize().into_bytes().to_vec())
        };
        let expected = mac(b"Tor safe cookie authentication server-to-controller hash")?;
        if !constant_time_eq(&expected, &server_hash) {
            return Err(ControlError::Auth(
                "tor does not know the cookie: not the tor we meant".into(),
            ));
        }
        let ours = mac(b"Tor safe cookie authentication controller-to-server hash")?;
        self.command(&format!("AUTHENTICATE {}", hex(&ours)))
            .await
            .map(drop)
    }

    /// `GETINFO key`: the value.
    pub async fn getinfo(&mut self, key: &str) -> Result<String, ControlError> {
        let r = self.command(&format!("GETINFO {key}")).await?;
        r.lines
            .iter()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim_start_matches('\n').to_string())
            .ok_or_else(|| ControlError::Protocol(format!("GETINFO {key}: no value")))
    }

    /// Creates an onion service with the 64-byte expanded ed25519 `key`,
    /// forwarding each virtual port to a local address. Returns its
    /// service id (the onion name without `.onion`). The service lives as
    /// long as this connection. A rendezvous circuit holds at most
    /// [`MAX_STREAMS_PER_CIRCUIT`] streams; one more closes it
    /// (`MaxStreams=`, `Flags=MaxStreamsCloseCircuit`: control-spec
    /// "ADD_ONION").
    pub async fn add_onion(
        &mut self,
        key: &[u8; 64],
        ports: &[(u16, SocketAddr)],
        client_auth: &[String],
    ) -> Result<String, ControlError> {
        use data_encoding::BASE64;
        let mut cmd = format!(
            "ADD_ONION ED25519-V3:{} Flags=DiscardPK,MaxStreamsCloseCircuit MaxStreams={}",
            BASE64.encode(key),
            MAX_STREAMS_PER_CIRCUIT
        );
        for (virt, target) in ports {
            cmd.push_str(&format!(" Port={virt},{target}"));
        }
        for c in client_auth {
            cmd.push_str(&format!(" ClientAuthV3={c}"));
        }
        let r = self.command(&cmd).await?;
        r.lines
            .iter()
            .find_map(|l| l.strip_prefix("ServiceID="))
            .map(str::to_string)
            .ok_or_else(|| ControlError::Protocol("ADD_ONION without ServiceID".into()))
    }
}

fn split_status(line: &str) -> Result<(u16, char, &str), ControlError> {
    let bad = || ControlError::Protocol(format!("bad reply line {line:?}"));
    let code = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let sep = line[3..].chars().next().ok_or_else(bad)?;
    Ok((code, sep, line.get(4..).unwrap_or("")))
}

/// `KEY=value` (unquoted) from a space-separated line.
fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// `KEY="value"` from a line (no escapes inside, as tor writes paths).
fn quoted_value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("{key}=\""))? + key.len() + 2;
    let end = line[start..].find('"')?;
    Some(&line[start..start + end])
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reply_lines_and_values() {
        assert_eq!(
            split_status("250-AUTH METHODS=COOKIE").unwrap(),
            (250, '-', "AUTH METHODS=COOKIE")
        );
        assert_eq!(split_status("250 OK").unwrap(), (250, ' ', "OK"));
        assert!(split_status("25").is_err());
        assert!(split_status("abc OK").is_err());
        let auth = r#"METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/run/tor/control auth cookie""#;
        assert_eq!(value_of(auth, "METHODS"), Some("COOKIE,SAFECOOKIE"));
        assert_eq!(
            quoted_value_of(auth, "COOKIEFILE"),
            Some("/var/run/tor/control auth cookie")
        );
        assert_eq!(unhex("0aFF"), Some(vec![10, 255]));
        assert_eq!(unhex("0"), None);
        assert!(
            constant_time_eq(b"ab", b"ab")
                && !constant_time_eq(b"ab", b"ac")
                && !constant_time_eq(b"a", b"ab")
        );
    }
}

#[cfg(test)]
mod fake_tor_tests {
    //! The client against a scripted fake tor on loopback.

    use std::io::Write;

    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::{Control, ControlError, hex, unhex};

    /// Serves one connection: for each line received, `answer` gives the
    /// bytes to send back.
    async fn fake_tor(
        mut answer: impl FnMut(&str) -> Vec<u8> + Send + 'static,
    ) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if w.write_all(&answer(line.trim_end())).await.is_err() {
                    return;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn data_blocks_and_error_statuses() {
        let addr = fake_tor(|line| match line {
            "GETINFO net/listeners/socks" => b"250+net/listeners/socks=\r\n\"127.0.0.1:9050\"\r\n.\r\n250 OK\r\n".to_vec(),
            "GETINFO status/bootstrap-phase" => {
                b"250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY=\"Done\"\r\n250 OK\r\n".to_vec()
            }
            _ => b"552 Unrecognized key\r\n".to_vec(),
        })
        .await;
        let mut c = Control::connect(addr).await.unwrap();
        assert_eq!(
            c.getinfo("net/listeners/socks").await.unwrap(),
            "\"127.0.0.1:9050\""
        );
        assert!(
            c.getinfo("status/bootstrap-phase")
                .await
                .unwrap()
                .contains("PROGRESS=100")
        );
        match c.getinfo("nope").await {
            Err(ControlError::Refused { code: 552, message }) => {
                assert!(message.contains("Unrecognized"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(c.command("A\r\nB").await, Err(ControlError::Protocol(_))),
            "no command injection"
        );
    }

    #[tokio::test]
    async fn oversized_answers_are_refused() {
        let addr = fake_tor(|_| {
            let mut long = vec![b'2', b'5', b'0', b' '];
            long.extend(std::iter::repeat_n(b'x', 20 * 1024));
            long.extend_from_slice(b"\r\n");
            long
        })
        .await;
        let mut c = Control::connect(addr).await.unwrap();
        assert!(
            matches!(c.command("GETINFO version").await, Err(ControlError::Protocol(m)) if m.contains("too long"))
        );

        let addr = fake_tor(|_| b"250-x\r\n".repeat(2000)).await;
        let mut c = Control::connect(addr).await.unwrap();
        assert!(
            matches!(c.command("GETINFO version").await, Err(ControlError::Protocol(m)) if m.contains("reply too long"))
        );

        let addr = fake_tor(|_| b"2x0 OK\r\n".to_vec()).await;
        let mut c = Control::connect(addr).await.unwrap();
        assert!(matches!(
            c.command("GETINFO version").await,
            Err(ControlError::Protocol(_))
        ));
    }

    fn mac(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(msg);
        m.finalize().into_bytes().to_vec()
    }

    /// A tor that offers SAFECOOKIE with `cookie` and proves knowledge of
    /// `known` (the real cookie, or not).
    async fn safecookie_tor(
        cookie_path: std::path::PathBuf,
        known: Vec<u8>,
    ) -> std::net::SocketAddr {
        let server_nonce = [7u8; 32];
        let mut client_nonce = Vec::new();
        fake_tor(move |line| {
            if line == "PROTOCOLINFO 1" {
                return format!(
                    "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"{}\"\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n",
                    cookie_path.display()
                )
                .into_bytes();
            }
            if let Some(n) = line.strip_prefix("AUTHCHALLENGE SAFECOOKIE ") {
                client_nonce = unhex(n).unwrap();
                let msg = [known.as_slice(), &client_nonce, &server_nonce].concat();
                let server_hash = mac(b"Tor safe cookie authentication server-to-controller hash", &msg);
                return format!(
                    "250 AUTHCHALLENGE SERVERHASH={} SERVERNONCE={}\r\n",
                    hex(&server_hash),
                    hex(&server_nonce)
                )
                .into_bytes();
            }
            if let Some(h) = line.strip_prefix("AUTHENTICATE ") {
                let msg = [known.as_slice(), &client_nonce, &server_nonce].concat();
                let expected = mac(b"Tor safe cookie authentication controller-to-server hash", &msg);
                return if unhex(h) == Some(expected) { b"250 OK\r\n".to_vec() } else { b"515 Bad auth\r\n".to_vec() };
            }
            b"510 Unrecognized command\r\n".to_vec()
        })
        .await
    }

    #[tokio::test]
    async fn safecookie_authenticates_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("control_auth_cookie");
        let cookie = vec![0x42u8; 32];
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&cookie)
            .unwrap();

        let honest = safecookie_tor(path.clone(), cookie.clone()).await;
        let mut c = Control::connect(honest).await.unwrap();
        c.authenticate(None).await.unwrap();

        // A "tor" that does not know the cookie is not the tor we meant.
        let impostor = safecookie_tor(path.clone(), vec![0u8; 32]).await;
        let mut c = Control::connect(impostor).await.unwrap();
        match c.authenticate(None).await {
            Err(ControlError::Auth(m)) => assert!(m.contains("does not know the cookie")),
            other => panic!("{other:?}"),
        }

        // A missing cookie file is a clear error.
        let honest = safecookie_tor(path.clone(), cookie).await;
        let mut c = Control::connect(honest).await.unwrap();
        let missing = dir.path().join("nope");
        assert!(
            matches!(c.authenticate(Some(&missing)).await, Err(ControlError::Auth(m)) if m.contains("reading the cookie"))
        );
    }
}
