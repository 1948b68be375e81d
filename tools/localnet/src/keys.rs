//! Keys for authorities and relays, generated on the spot.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// A relay's identities, as tor prints them.
#[derive(Debug, Clone)]
pub(crate) struct RelayKeys {
    /// RSA identity fingerprint, 40 hex digits.
    pub(crate) rsa: String,
    /// ed25519 identity, base64 without padding.
    pub(crate) ed25519: String,
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
        Error::Tool(format!(
            "{what}: cannot run ({e}); is the tor package installed?"
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Tool(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Creates the relay keys in `datadir` (via `tor --list-fingerprint` on a
/// minimal torrc) and reads both fingerprints back.
pub(crate) fn relay_keys(datadir: &Path, nickname: &str, or_port: u16) -> Result<RelayKeys> {
    let torrc = datadir.join("keygen.torrc");
    let text = format!(
        "DataDirectory {}\nORPort 127.0.0.1:{or_port}\nAddress 127.0.0.1\nNickname {nickname}\nSocksPort 0\nContactInfo warren-localnet\n",
        datadir.display()
    );
    std::fs::write(&torrc, text).map_err(Error::io("writing keygen torrc"))?;
    run(
        Command::new("tor")
            .arg("--list-fingerprint")
            .arg("-f")
            .arg(&torrc)
            .arg("--quiet"),
        "tor --list-fingerprint",
    )?;
    let read = |name: &str| -> Result<String> {
        let text = std::fs::read_to_string(datadir.join(name))
            .map_err(Error::io(format!("reading {name}")))?;
        text.split_whitespace()
            .nth(1)
            .map(str::to_string)
            .ok_or_else(|| Error::Tool(format!("{name} has no fingerprint")))
    };
    Ok(RelayKeys {
        rsa: read("fingerprint")?,
        ed25519: read("fingerprint-ed25519")?,
    })
}

/// Creates an authority's v3 identity and signing keys with `tor-gencert`;
/// returns the v3 identity fingerprint.
pub(crate) fn authority_keys(datadir: &Path, dir_port: u16) -> Result<String> {
    let keys = datadir.join("keys");
    std::fs::create_dir_all(&keys).map_err(Error::io("creating keys dir"))?;
    let mut cmd = Command::new("tor-gencert");
    cmd.arg("--create-identity-key")
        .args(["-m", "12"])
        .args(["-a", &format!("127.0.0.1:{dir_port}")])
        .arg("-i")
        .arg(keys.join("authority_identity_key"))
        .arg("-s")
        .arg(keys.join("authority_signing_key"))
        .arg("-c")
        .arg(keys.join("authority_certificate"))
        // An empty passphrase, read from stdin (which is /dev/null).
        .args(["--passphrase-fd", "0"]);
    run(&mut cmd, "tor-gencert")?;
    let cert = std::fs::read_to_string(keys.join("authority_certificate"))
        .map_err(Error::io("reading certificate"))?;
    cert.lines()
        .find_map(|l| l.strip_prefix("fingerprint "))
        .map(|f| f.trim().to_string())
        .ok_or_else(|| Error::Tool("authority certificate has no fingerprint".into()))
}
